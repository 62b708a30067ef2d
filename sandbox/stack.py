"""A whole local Runwarden world: emulators, stand-ins, topics, config, and the function server.

    with Sandbox("bad_revision", anchor=t0) as sandbox:
        sandbox.start_function()                 # functions-framework running the real main.py
        sandbox.publish_alert(sandbox.scenario.notification(t0))
        outcome = sandbox.wait_outcomes(1)[0]

The function server gets every location through environment variables only, exactly as a
deployed function would get none and talk to Google Cloud.
"""
from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from sandbox.log_agent import FunctionResource, StdoutSink
from sandbox.emulators import FirestoreEmulator, PubSubEmulator, start_firestore, start_pubsub
from sandbox.scenarios import Scenario, resolve_scenario
from sandbox.scenarios import start_seeded
from sandbox.standins.metadata import MetadataStandIn
from sandbox.standins.server import StandIns

REPO_ROOT = Path(__file__).resolve().parent.parent
ALERTS_TOPIC = "runwarden-alerts"
OUTCOMES_TOPIC = "runwarden-outcomes"
OUTCOMES_WATCH = "runwarden-outcomes-watch"
ALERTS_PUSH = f"{ALERTS_TOPIC}-push"  # the push subscription start_function creates
COMMANDS_TOPIC = "runwarden-commands"
# The deployed subscriptions' ack deadline (infra/locals.tf ack_deadline_seconds); the emulator's
# own default is 10 s.
DEPLOYED_ACK_DEADLINE = 600
# Which topic each entry point listens on, as its Eventarc trigger would in production.
TRIGGERS = {"on_alert": ALERTS_TOPIC, "on_command": COMMANDS_TOPIC}


@dataclass
class ReceivedOutcome:
    body: dict[str, Any]
    attributes: dict[str, str]
    ordering_key: str


@dataclass
class FunctionServer:
    """functions-framework serving one entry point of main.py, with its stdout collected."""

    process: subprocess.Popen
    port: int
    lines: "queue.Queue[str]" = field(default_factory=queue.Queue)

    def timeline(self) -> list[dict[str, Any]]:
        """The structured log lines written so far (drained from the queue)."""
        entries = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return entries
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # gunicorn's own lines

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


class Sandbox:
    def __init__(self, scenario: Scenario | str | Path, anchor: datetime, *, mode: str = "enforce",
                 config: dict[str, Any] | None = None, workdir: Path | None = None) -> None:
        self.scenario = resolve_scenario(scenario)
        self.anchor = anchor
        self.project = self.scenario.project
        self._config_overrides = config or {}
        self._mode = mode
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="runwarden-sandbox-")
        self.workdir = Path(workdir or self._tmp.name)
        self.pubsub: PubSubEmulator | None = None
        self.firestore: FirestoreEmulator | None = None
        self.standins: StandIns | None = None
        # The metadata server a deployed function finds its own service account by (shared/gcp/identity.py),
        # answering the identity the stand-ins record for the function's writes (RunStandIn.caller).
        self.metadata: MetadataStandIn | None = None
        self.function: FunctionServer | None = None      # on_alert's server
        self.functions: dict[str, FunctionServer] = {}   # every entry point started, by name
        self.config_path = self.workdir / "runwarden.yaml"

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> "Sandbox":
        try:
            self._start_emulators()
            self.standins = start_seeded(self.scenario, anchor=self.anchor)
            self.metadata = MetadataStandIn(self.standins.run.caller)
            self.metadata.start()
            self.pubsub.ensure_topic(ALERTS_TOPIC)
            self.pubsub.ensure_topic(COMMANDS_TOPIC)
            self.pubsub.ensure_pull_subscription(OUTCOMES_WATCH, OUTCOMES_TOPIC)
            self._write_config()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_emulators(self) -> None:
        # The two JVMs take one to two seconds each: start them side by side. An emulator that
        # started while its twin failed is kept on self, so stop() still stops it.
        with ThreadPoolExecutor(max_workers=2) as pool:
            pubsub = pool.submit(start_pubsub, self.project, log_dir=self.workdir)
            firestore = pool.submit(start_firestore, self.project, log_dir=self.workdir)
        failures = []
        for name, future in (("pubsub", pubsub), ("firestore", firestore)):
            try:
                setattr(self, name, future.result())
            except Exception as exc:  # noqa: BLE001 - re-raised below, after both are known
                failures.append(exc)
        if failures:
            raise failures[0]

    def stop(self) -> None:
        # Side by side: the Firestore JVM alone takes ~2 s to shut down.
        stoppers = [threading.Thread(target=part.stop) for part in
                    (*self.functions.values(), self.standins, self.metadata, self.pubsub, self.firestore)
                    if part is not None]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        self.function = None
        self.functions = {}
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what product code is told -------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {**self.pubsub.env(), **self.firestore.env(), **self.standins.env(), **self.metadata.env(),
                "RUNWARDEN_CONFIG": str(self.config_path), "GOOGLE_CLOUD_PROJECT": self.project}

    def own_service_env(self, target: str) -> dict[str, str]:
        """What tells the function its own services (shared/gcp/identity.py, own_services): functions-framework
        sets none of it, so it is set here as Cloud Run's container contract (K_SERVICE) and infra/functions.tf
        (RUNWARDEN_REGION, RUNWARDEN_OWN_SERVICES) set it, with the names its log lines are written under."""
        return {"K_SERVICE": function_service_name(target), "RUNWARDEN_REGION": self.scenario.region,
                "RUNWARDEN_OWN_SERVICES": ",".join(function_service_name(t) for t in ("on_alert", "on_command",
                                                                                    "incident_timeline"))}

    @property
    def outcomes_topic(self) -> str:
        return f"projects/{self.project}/topics/{OUTCOMES_TOPIC}"

    def config_data(self) -> dict[str, Any]:
        data = self.scenario.config_data(self.outcomes_topic, self._mode, self.project)
        data["commands_topic"] = f"projects/{self.project}/topics/{COMMANDS_TOPIC}"
        for key, value in self._config_overrides.items():
            data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
        return data

    def _write_config(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config_data(), sort_keys=False))

    # --- the function server ---------------------------------------------------------------------

    def start_function(self, target: str = "on_alert", timeout: float = 20.0,
                       ack_deadline_seconds: int = DEPLOYED_ACK_DEADLINE, *, source: Path | None = None,
                       topic: str | None = None, checkout: Path | None = None) -> FunctionServer:
        """functions-framework serving `target` from the real main.py, pushed to by its topic.

        `ack_deadline_seconds` is the push subscription's (when this call creates it): by default
        the deployed one, so that a slow push on a loaded machine is not delivered twice.
        `source` and `topic` serve another file the same way (bench/storm.py's framework floor:
        an empty function behind the same server and the same push).
        `checkout`: serve another checkout's main.py and the code it imports (its own directory
        first on the path): bench/cold_start.py's `--reference`, the code before a change."""
        topic = topic or TRIGGERS[target]
        port = _free_port()
        root = checkout or REPO_ROOT
        command = [sys.executable, "-m", "functions_framework", "--target", target, "--signature-type",
                   "cloudevent", "--source", str(source or root / "main.py"), "--host", "127.0.0.1",
                   "--port", str(port)]
        env = {**os.environ, **self.env(), **self.own_service_env(target), "PYTHONUNBUFFERED": "1"}
        if checkout is not None:
            env["PYTHONPATH"] = str(checkout)
        process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)   # bytes: see _pump
        server = FunctionServer(process, port)
        self.functions[target] = server
        if target == "on_alert":
            self.function = server
        sink = StdoutSink(self.standins.logging, FunctionResource(self.project, self.scenario.region,
                                                                  function_service_name(target)))
        threading.Thread(target=_pump, args=(process, server.lines, sink), daemon=True).start()
        _wait_for_port(port, timeout, process)
        # Pointed at /projects/P/topics/T so the CloudEvent's source names the topic, as Eventarc's does.
        endpoint = f"http://127.0.0.1:{port}/projects/{self.project}/topics/{topic}"
        self.pubsub.ensure_push_subscription(f"{topic}-push", topic, endpoint, ack_deadline_seconds)
        return server

    # --- traffic in and out --------------------------------------------------------------------

    def publish_alert(self, notification: dict[str, Any] | bytes) -> str:
        data = notification if isinstance(notification, bytes) else json.dumps(notification).encode()
        return self.pubsub.publish(ALERTS_TOPIC, data)

    def publish_alerts(self, notifications: list[dict[str, Any] | bytes]) -> list[str]:
        """Publishes many notifications in order, in Publish calls of up to 100 messages (as the
        client library's batching publisher sends a burst); their message ids, in the same order."""
        datas = [n if isinstance(n, bytes) else json.dumps(n).encode() for n in notifications]
        return self.pubsub.publish_many(ALERTS_TOPIC, datas)

    def pull_outcomes(self, max_messages: int = 1000, timeout: float = 5.0) -> list[ReceivedOutcome]:
        """One Pull of up to `max_messages` outcomes and one Acknowledge of them all (a batch
        consumer); [] when none are waiting."""
        subscription = f"projects/{self.project}/subscriptions/{OUTCOMES_WATCH}"
        return [_received(m) for m in self.pubsub.pull_batch(subscription, max_messages, timeout)]

    def publish_command(self, command: dict[str, Any]) -> str:
        return self.pubsub.publish(COMMANDS_TOPIC, json.dumps(command).encode())

    def wait_outcomes(self, count: int, timeout: float = 30.0) -> list[ReceivedOutcome]:
        received: list[ReceivedOutcome] = []
        deadline = time.monotonic() + timeout
        subscription = f"projects/{self.project}/subscriptions/{OUTCOMES_WATCH}"
        while len(received) < count and time.monotonic() < deadline:
            for m in self.pubsub.pull_messages(subscription, count - len(received),
                                               timeout=min(2.0, max(0.1, deadline - time.monotonic()))):
                received.append(_received(m))
        return received


def _received(message: Any) -> ReceivedOutcome:
    return ReceivedOutcome(json.loads(message.data), dict(message.attributes), message.ordering_key)


# The Cloud Run service each function runs as, as infra/ deploys it (infra/locals.tf `functions`: PREFIX-on-alert,
# PREFIX-on-command; infra/functions.tf: PREFIX-timeline, the name of its own RUNWARDEN_OWN_SERVICES lists), under
# infra's default prefix. Before, the timeline ran here as runwarden-incident-timeline, a name infra never deploys.
_FUNCTION_SERVICES = {"on_alert": "on-alert", "on_command": "on-command", "incident_timeline": "timeline"}
_NAME_PREFIX = "runwarden"     # infra/variables.tf name_prefix's default


def function_service_name(target: str) -> str:
    """The Cloud Run service a gen2 function runs as, named as infra/ names it (names there allow no underscores)."""
    return f"{_NAME_PREFIX}-{_FUNCTION_SERVICES.get(target, target.replace('_', '-'))}"


def _pump(process: subprocess.Popen, lines: "queue.Queue[str]", sink: StdoutSink | None = None) -> None:
    """Every stdout line also reaches the Logging stand-in, as Cloud Run's logging agent would send
    it: what the pipe holds when read (at most 64 KiB) goes as one batch of entries, and an
    unfinished last line waits for the rest of it."""
    pending = b""
    while True:
        chunk = process.stdout.read1(65536)   # blocks until some output, then takes what is there
        if not chunk:
            break
        *complete, pending = (pending + chunk).split(b"\n")
        _deliver([line.decode("utf-8", "replace").removesuffix("\r") for line in complete], lines, sink)
    if pending:
        _deliver([pending.decode("utf-8", "replace")], lines, sink)


def _deliver(batch: list[str], lines: "queue.Queue[str]", sink: StdoutSink | None) -> None:
    if sink is not None and batch:
        sink.write_batch(batch)
    for line in batch:
        lines.put(line)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"functions-framework exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"functions-framework did not listen on port {port} within {timeout} s")
