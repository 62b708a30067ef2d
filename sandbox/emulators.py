"""Launches Google's Pub/Sub and Firestore emulators for tests, the demo and the CLI.

Each emulator runs directly (not through gcloud: faster, and no writes under ~/.config/gcloud)
on a free 127.0.0.1 port, in its own process group so that `stop()` also ends the java child
the wrapper scripts start. Readiness is checked with a real API call over the emulator's REST
surface (same port as gRPC), so this module imports no Google library until a Pub/Sub helper
is used.

    with start_pubsub("my-project") as pubsub, start_firestore("my-project") as firestore:
        os.environ.update(pubsub.env() | firestore.env())
"""
from __future__ import annotations

import atexit
import json
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

DEFAULT_SDK_ROOT = Path("/usr/lib/google-cloud-sdk")
PUBSUB_ENV = "PUBSUB_EMULATOR_HOST"
FIRESTORE_ENV = "FIRESTORE_EMULATOR_HOST"
READY_TIMEOUT_S = 30.0
PUBLISH_BATCH = 100               # messages per Publish call in publish_many
_CONNECTING = threading.Lock()    # PubSubEmulator._clients
STOP_GRACE_S = 5.0

JAVA_HINT = "The emulators need Java 17 or later (`java` on PATH or JAVA_HOME)."
INSTALL_HINTS = {
    "pubsub": "Install it with `gcloud components install pubsub-emulator` "
              "or the Debian package google-cloud-cli-pubsub-emulator.",
    "firestore": "Install it with `gcloud components install cloud-firestore-emulator` "
                 "or the Debian package google-cloud-cli-firestore-emulator.",
}


class EmulatorMissing(RuntimeError):
    """The emulator (or Java) is not installed: tests skip, or fail when CI=true."""


class EmulatorFailed(RuntimeError):
    """The emulator was found but did not become ready (or could not be reset)."""


# --------------------------------------------------------------------------- launcher


class Emulator:
    """A running emulator process. Stop it with `stop()` or use it as a context manager."""

    kind: str = ""
    env_var: str = ""

    def __init__(self, project: str, port: int, process: subprocess.Popen[bytes],
                 log_path: Path, startup_seconds: float = 0.0) -> None:
        self.project = project
        self.port = port
        self.process = process
        self.log_path = log_path
        self.startup_seconds = startup_seconds
        self.command: list[str] = []   # how it was launched, for restart()
        self._stopped = False

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the value of the emulator's env var."""
        return f"127.0.0.1:{self.port}"

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session makes the child its group's leader

    def env(self) -> dict[str, str]:
        return {self.env_var: self.host}

    def reset(self, project: str | None = None) -> None:
        """Empties the emulator's state for `project` (default: the handle's project)."""
        raise NotImplementedError

    def probe(self) -> None:
        """One real API call; raises OSError (or HTTPError) while the emulator is not ready."""
        raise NotImplementedError

    def stop(self) -> None:
        """Ends the whole process group: SIGTERM, then SIGKILL after a grace period. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        _RUNNING.discard(self)
        if not _signal_group(self.pgid, signal.SIGTERM) or self._wait_group_gone(STOP_GRACE_S):
            return
        _signal_group(self.pgid, signal.SIGKILL)
        self._wait_group_gone(STOP_GRACE_S)

    def restart(self, down_seconds: float = 0.0, timeout: float = READY_TIMEOUT_S) -> None:
        """Stops the emulator and starts it again on the same port, as a crashed or redeployed
        server comes back at the same address. Neither emulator keeps data across a restart:
        Pub/Sub's topics, subscriptions and messages, and Firestore's documents, are gone."""
        command = self.command
        if not command:
            raise RuntimeError(f"{self!r} was not started by this module: its command is unknown")
        self.stop()
        time.sleep(down_seconds)
        started = time.monotonic()
        self.process = _spawn(command, self.log_path, mode="ab")   # one log across restarts
        self._stopped = False
        self._await_ready(started + timeout)

    def _await_ready(self, deadline: float) -> None:
        """Registered for stopping at exit, then ready by `deadline`, or stopped and the error raised."""
        _RUNNING.add(self)
        try:
            _wait_ready(self, deadline)
        except BaseException:
            self.stop()
            raise

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _wait_group_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process.poll()  # reap our direct child, or its zombie keeps the group alive
            if not _group_alive(self.pgid):
                return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.host} project={self.project} pid={self.process.pid}>"


EmulatorT = TypeVar("EmulatorT", bound=Emulator)


class PubSubEmulator(Emulator):
    kind = "pubsub"
    env_var = PUBSUB_ENV
    _connection: "_Connection | None" = None

    def stop(self) -> None:
        self._disconnect()
        super().stop()

    def restart(self, down_seconds: float = 0.0, timeout: float = READY_TIMEOUT_S) -> None:
        self._disconnect()   # a fresh channel after it, not one in gRPC's reconnect backoff
        super().restart(down_seconds, timeout)

    def _clients(self) -> "_Connection":
        """One channel, publisher and subscriber for this handle's own calls, kept until stop or
        restart: a channel per call costs more CPU than the call (a storm publishes thousands)."""
        with _CONNECTING:
            if self._connection is None:
                self._connection = _Connection.open(self.host)
            return self._connection

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.channel.close()

    def probe(self) -> None:
        _http("GET", f"http://{self.host}/v1/projects/{self.project}/topics")

    def reset(self, project: str | None = None) -> None:
        """Deletes every subscription, then every topic, of the project (REST, ~ms each).

        Tests that only need isolation can skip this and use unique names (`PubSubNamespace`).
        """
        project = project or self.project
        for collection in ("subscriptions", "topics"):
            for name in self.list_resources(collection, project):
                _http("DELETE", f"http://{self.host}/v1/{name}", ok=(200, 404))

    def ensure_topic(self, topic: str) -> str:
        return ensure_topic(self.project, topic, host=self.host)

    def ensure_pull_subscription(self, name: str, topic: str, **options: Any) -> str:
        return ensure_pull_subscription(self.project, name, topic, host=self.host, **options)

    def ensure_push_subscription(self, name: str, topic: str, push_endpoint: str,
                                 ack_deadline_seconds: int | None = None) -> str:
        return ensure_push_subscription(self.project, name, topic, push_endpoint, host=self.host,
                                        ack_deadline_seconds=ack_deadline_seconds)

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        return self.publish_many(topic, [data], attributes)[0]

    def publish_many(self, topic: str, datas: list[bytes], attributes: dict[str, str] | None = None,
                     batch: int = PUBLISH_BATCH) -> list[str]:
        """Publishes `datas` in order, `batch` messages per Publish call (the client library's
        publisher sends at most 100 per batch by default: `BatchSettings.max_messages`,
        google.cloud.pubsub_v1.types); returns their message ids in the same order."""
        path = _path(self.project, "topics", topic)
        publisher = self._clients().publisher
        ids: list[str] = []
        for start in range(0, len(datas), batch):
            ids += _publish_batch(publisher, path, datas[start:start + batch], attributes or {})
        return ids

    def pull_messages(self, subscription: str, max_messages: int = 10,
                      timeout: float = 5.0) -> list["PulledMessage"]:
        return _pull_until(self._clients().subscriber, subscription, max_messages, timeout)

    def pull_batch(self, subscription: str, max_messages: int = 1000, timeout: float = 5.0) -> list["PulledMessage"]:
        """One Pull of at most `max_messages` (the API's limit is 1,000 per Pull: "maxMessages",
        Pub/Sub REST reference, projects.subscriptions.pull) and one Acknowledge of all it
        returned: what a batch consumer does, instead of a round of calls per few messages."""
        return _pull_once(self._clients().subscriber, subscription, max_messages, timeout)

    def list_resources(self, collection: str, project: str | None = None) -> list[str]:
        """Full names of the project's "topics" or "subscriptions"."""
        project = project or self.project
        names: list[str] = []
        token = ""
        while True:
            query = f"?pageToken={urllib.parse.quote(token)}" if token else ""
            body = _http("GET", f"http://{self.host}/v1/projects/{project}/{collection}{query}")
            items = body.get(collection, [])
            names += [item if isinstance(item, str) else item["name"] for item in items]
            token = body.get("nextPageToken", "")
            if not token:
                return names


class FirestoreEmulator(Emulator):
    kind = "firestore"
    env_var = FIRESTORE_ENV

    def probe(self) -> None:
        # A 404 for a missing document is a real answer from the Firestore API.
        url = f"http://{self.host}/v1/projects/{self.project}/databases/(default)/documents/_probe/ready"
        _http("GET", url, ok=(200, 404))

    def reset(self, project: str | None = None) -> None:
        """Deletes every document of the project's (default) database."""
        project = project or self.project
        # Deleting every document is one call whose time grows with what the last test wrote, and the emulator's
        # JVM may pause besides: 2 s (a probe's bound) timed out at a load of 15 on two cores. Idempotent, so a
        # longer bound only ever waits.
        _http("DELETE", f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents",
              timeout=RESET_TIMEOUT_SECONDS)

    def export(self, directory: Path, project: str | None = None) -> Path:
        """Writes every document of the project's (default) database under `directory`; returns
        the export's metadata file, which `--import-data=` loads into a later start (so a
        restart() can keep the data, as the real database does)."""
        project = project or self.project
        Path(directory).mkdir(parents=True, exist_ok=True)   # the emulator answers 400 for a missing one
        body = json.dumps({"database": f"projects/{project}/databases/(default)",
                           "export_directory": str(directory)}).encode()
        request = urllib.request.Request(f"http://{self.host}/emulator/v1/projects/{project}:export", data=body,
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30):
            pass
        return max(Path(directory).rglob("*.overall_export_metadata"), key=lambda p: p.stat().st_mtime)


def start_pubsub(project: str = "runwarden-local", *, log_dir: Path | None = None,
                 sdk_root: Path | None = None, timeout: float = READY_TIMEOUT_S) -> PubSubEmulator:
    script = _installed(sdk_root, "pubsub", Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator"))
    return _launch(PubSubEmulator, project, lambda port: [str(script), "--host=127.0.0.1", f"--port={port}"],
                   log_dir, timeout)


def start_firestore(project: str = "runwarden-local", *, log_dir: Path | None = None,
                    sdk_root: Path | None = None, timeout: float = READY_TIMEOUT_S) -> FirestoreEmulator:
    script = _installed(sdk_root, "firestore",
                        Path("platform/cloud-firestore-emulator/cloud_firestore_emulator"))
    return _launch(FirestoreEmulator, project,
                   lambda port: [str(script), "start", "--host=127.0.0.1", f"--port={port}"], log_dir, timeout)


def stop_all() -> None:
    """Stops every emulator this process started (registered with atexit)."""
    for emulator in list(_RUNNING):
        emulator.stop()


_RUNNING: set[Emulator] = set()
atexit.register(stop_all)


def _installed(sdk_root: Path | None, kind: str, relative: Path) -> Path:
    roots = [sdk_root] if sdk_root else _sdk_roots()
    script = next((root / relative for root in roots if (root / relative).is_file()), None)
    if script is None:
        searched = ", ".join(str(root / relative) for root in roots)
        raise EmulatorMissing(f"The {kind} emulator is not installed (looked for {searched}). "
                              f"{INSTALL_HINTS[kind]} {JAVA_HINT}")
    if not _java_available():
        raise EmulatorMissing(f"Java was not found for the {kind} emulator. {JAVA_HINT}")
    return script


def _sdk_roots() -> list[Path]:
    roots = []
    if os.environ.get("CLOUDSDK_ROOT_DIR"):
        roots.append(Path(os.environ["CLOUDSDK_ROOT_DIR"]))
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.append(Path(gcloud).resolve().parent.parent)  # <root>/bin/gcloud
    roots.append(DEFAULT_SDK_ROOT)
    return list(dict.fromkeys(roots))


def _java_available() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    return bool(java_home and Path(java_home, "bin", "java").is_file()) or shutil.which("java") is not None


def _launch(cls: type[EmulatorT], project: str, command: Callable[[int], list[str]],
            log_dir: Path | None, timeout: float) -> EmulatorT:
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="runwarden-emulators-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, _BIND_ATTEMPTS + 1):
        port = _free_port()
        log_path = log_dir / f"{cls.kind}-{port}.log"
        started = time.monotonic()
        process = _spawn(command(port), log_path, mode="wb")
        emulator = cls(project, port, process, log_path)
        emulator.command = command(port)
        try:
            emulator._await_ready(started + timeout)
        except EmulatorFailed:
            # The port chosen free was taken before the emulator bound it: by another process, or by the
            # Firestore emulator itself, whose WebSocket server binds a port of the kernel's choosing first
            # (seen: "Started WebSocket server on ws://127.0.0.1:40177", then "java.net.BindException:
            # Address already in use" on 40177). A fresh port is tried; any other failure is raised as it came.
            if attempt == _BIND_ATTEMPTS or _BIND_FAILED not in emulator.log_tail(400):
                raise
            continue
        emulator.startup_seconds = time.monotonic() - started
        return emulator
    raise AssertionError("unreachable")


_BIND_ATTEMPTS = 3
_BIND_FAILED = "Address already in use"


def _spawn(command: list[str], log_path: Path, mode: str) -> subprocess.Popen[bytes]:
    """Starts an emulator in a session of its own (so that stop() can end its whole process
    group: the gcloud wrappers start Java as a child), its output going to `log_path`."""
    with open(log_path, mode) as log:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(emulator: Emulator, deadline: float) -> None:
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if emulator.process.poll() is not None:
            raise EmulatorFailed(f"The {emulator.kind} emulator exited with code {emulator.process.returncode} "
                                 f"before it was ready. {JAVA_HINT}\n"
                                 f"Log {emulator.log_path}:\n{emulator.log_tail()}")
        try:
            emulator.probe()
            return
        except (OSError, http.client.HTTPException, EmulatorFailed) as exc:
            # Refused, reset, or not yet serving the API; or another server on the port (an HTTP/2 answer
            # read as HTTP/1.1 raises BadStatusLine): the emulator's bind then fails, and it exits with
            # "Address already in use", which _launch retries on a fresh port.
            last_error = exc
            time.sleep(0.05)
    raise EmulatorFailed(f"The {emulator.kind} emulator was not ready on {emulator.host} in time "
                         f"(last error: {last_error}).\nLog {emulator.log_path}:\n{emulator.log_tail()}")


def _free_port() -> int:
    # The port could be taken between here and the emulator's bind; a failed bind shows up as an early
    # exit whose log says "Address already in use", and _launch tries another port (at most _BIND_ATTEMPTS).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


RESET_TIMEOUT_SECONDS = 30.0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # the group exists but is not ours to signal
        return True


def _http(method: str, url: str, ok: tuple[int, ...] = (200,), timeout: float = 2.0) -> dict[str, Any]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    if status not in ok:
        raise EmulatorFailed(f"{method} {url} -> HTTP {status}: {payload[:300]!r}")
    return json.loads(payload) if payload.strip().startswith(b"{") else {}


# --------------------------------------------------------------------------- Pub/Sub helpers
# They speak gRPC through the real client library, like the product code, but to an explicit
# emulator host: no credentials are involved and the real Pub/Sub can never be reached.


@dataclass(frozen=True)
class PulledMessage:
    data: bytes
    attributes: dict[str, str]
    ordering_key: str
    message_id: str
    publish_time: datetime


def ensure_topic(project: str, topic: str, *, host: str | None = None) -> str:
    """Creates the topic if needed; returns its path `projects/P/topics/T`."""
    from google.api_core.exceptions import AlreadyExists

    path = _path(project, "topics", topic)
    with _publisher(host) as publisher:
        try:
            publisher.create_topic(request={"name": path}, timeout=10)
        except AlreadyExists:
            pass
    return path


def ensure_pull_subscription(project: str, name: str, topic: str, *, host: str | None = None,
                             enable_message_ordering: bool = True, ack_deadline_seconds: int = 10) -> str:
    """Creates the topic and a pull subscription on it if needed; returns the subscription path."""
    request = {"topic": ensure_topic(project, topic, host=host), "ack_deadline_seconds": ack_deadline_seconds,
               "enable_message_ordering": enable_message_ordering}
    path = _path(project, "subscriptions", name)
    _create_subscription(path, request, host)
    return path


def ensure_push_subscription(project: str, name: str, topic: str, push_endpoint: str,
                             *, host: str | None = None, ack_deadline_seconds: int | None = None) -> str:
    """Creates a push subscription, or points an existing one at `push_endpoint` (a restarted
    functions-framework listens on a new port). Returns the subscription path.

    `ack_deadline_seconds` (10 to 600; the emulator's default is 10) is also how long a push may
    take before Pub/Sub delivers the message again ("ackDeadlineSeconds": Pub/Sub Subscription
    reference). It applies when the subscription is created."""
    path = _path(project, "subscriptions", name)
    push_config = {"push_endpoint": push_endpoint}
    request = {"topic": ensure_topic(project, topic, host=host), "push_config": push_config}
    if ack_deadline_seconds is not None:
        request["ack_deadline_seconds"] = ack_deadline_seconds
    if not _create_subscription(path, request, host):
        with _subscriber(host) as subscriber:
            subscriber.modify_push_config(request={"subscription": path, "push_config": push_config}, timeout=10)
    return path


def publish(project: str, topic: str, data: bytes, attributes: dict[str, str] | None = None,
            *, host: str | None = None) -> str:
    """Publishes one message to `projects/P/topics/T` on the emulator; returns its message id."""
    with _publisher(host) as publisher:
        return _publish_batch(publisher, _path(project, "topics", topic), [data], attributes or {})[0]


def pull_messages(subscription: str, max_messages: int = 10, timeout: float = 5.0,
                  *, host: str | None = None) -> list[PulledMessage]:
    """Pulls and acks until `max_messages` arrived or `timeout` seconds passed."""
    with _subscriber(host) as subscriber:
        return _pull_until(subscriber, subscription, max_messages, timeout)


def _publish_batch(publisher: Any, topic_path: str, datas: list[bytes], attributes: dict[str, str]) -> list[str]:
    from google.pubsub_v1 import types

    raw = types.PublishRequest.pb()(topic=topic_path)
    for data in datas:
        raw.messages.add(data=data, attributes=attributes)
    response = publisher.publish(request=types.PublishRequest.wrap(raw), timeout=10)
    return list(response.message_ids)


def _pull_until(subscriber: Any, subscription: str, max_messages: int, timeout: float) -> list[PulledMessage]:
    messages: list[PulledMessage] = []
    deadline = time.monotonic() + timeout
    while len(messages) < max_messages and (remaining := deadline - time.monotonic()) > 0:
        batch = _pull_once(subscriber, subscription, max_messages - len(messages), remaining)
        messages += batch
        if not batch:
            time.sleep(0.05)
    return messages


def _pull_once(subscriber: Any, subscription: str, max_messages: int, timeout: float) -> list[PulledMessage]:
    """One Pull, and one Acknowledge of everything it returned."""
    from google.api_core.exceptions import DeadlineExceeded

    try:
        response = subscriber.pull(request={"subscription": subscription, "max_messages": max_messages},
                                   timeout=max(timeout, 0.1), retry=None)
    except DeadlineExceeded:
        return []
    received = response.received_messages
    if received:
        subscriber.acknowledge(request={"subscription": subscription, "ack_ids": [m.ack_id for m in received]})
    return [_pulled(m.message) for m in received]


@dataclass
class PubSubNamespace:
    """Unique topic/subscription names for one test, so tests never see each other's messages."""

    project: str
    host: str
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def name(self, base: str) -> str:
        return f"{base}-{self.suffix}"

    def topic(self, base: str = "topic") -> str:
        return ensure_topic(self.project, self.name(base), host=self.host)

    def pull_subscription(self, topic_path: str, base: str = "sub", **options: Any) -> str:
        topic = topic_path.rsplit("/", 1)[-1]
        return ensure_pull_subscription(self.project, self.name(base), topic, host=self.host, **options)

    def pull(self, subscription: str, max_messages: int = 10, timeout: float = 5.0) -> list[PulledMessage]:
        return pull_messages(subscription, max_messages, timeout, host=self.host)


def _create_subscription(path: str, request: dict[str, Any], host: str | None) -> bool:
    """True if created, False if it already existed."""
    from google.api_core.exceptions import AlreadyExists

    with _subscriber(host) as subscriber:
        try:
            subscriber.create_subscription(request={"name": path, **request}, timeout=10)
            return True
        except AlreadyExists:
            return False


def _path(project: str, collection: str, name: str) -> str:
    return name if name.startswith("projects/") else f"projects/{project}/{collection}/{name}"


def _pulled(message: Any) -> PulledMessage:
    return PulledMessage(data=bytes(message.data), attributes=dict(message.attributes),
                         ordering_key=message.ordering_key, message_id=message.message_id,
                         publish_time=message.publish_time)


def _emulator_host(host: str | None) -> str:
    host = host or os.environ.get(PUBSUB_ENV)
    if not host:
        raise ValueError(f"No Pub/Sub emulator host: pass host= or set {PUBSUB_ENV}.")
    return host


@dataclass(frozen=True)
class _Connection:
    """A kept channel to the emulator, with a GAPIC publisher and subscriber on it."""

    channel: Any
    publisher: Any
    subscriber: Any

    @classmethod
    def open(cls, host: str) -> "_Connection":
        import grpc

        channel = grpc.insecure_channel(host)
        return cls(channel, _publisher_on(channel), _subscriber_on(channel))


@contextmanager
def _publisher(host: str | None) -> Iterator[Any]:
    with _insecure_channel(host) as channel:
        yield _publisher_on(channel)


@contextmanager
def _subscriber(host: str | None) -> Iterator[Any]:
    with _insecure_channel(host) as channel:
        yield _subscriber_on(channel)


def _publisher_on(channel: Any) -> Any:
    """A GAPIC publisher on `channel` (the emulator needs no credentials)."""
    from google.pubsub_v1.services.publisher import PublisherClient
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    return PublisherClient(transport=PublisherGrpcTransport(channel=channel))


def _subscriber_on(channel: Any) -> Any:
    """A GAPIC subscriber on `channel`."""
    from google.pubsub_v1.services.subscriber import SubscriberClient
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    return SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))


@contextmanager
def _insecure_channel(host: str | None) -> Iterator[Any]:
    import grpc

    channel = grpc.insecure_channel(_emulator_host(host))
    try:
        yield channel
    finally:
        channel.close()
