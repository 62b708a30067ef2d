"""The emulator launcher: start, readiness, reset, stop by process group, missing installs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox.emulators import (
    EmulatorMissing,
    FirestoreEmulator,
    PubSubEmulator,
    PubSubNamespace,
    ensure_push_subscription,
    start_firestore,
    start_pubsub,
)

pytestmark = pytest.mark.emulator


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _firestore_client(emulator: FirestoreEmulator, project: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from google.cloud import firestore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    return firestore.Client(project=project)


def test_pubsub_emulator_starts_answers_and_stops_its_whole_process_group(launch_emulator: Any,
                                                                          tmp_path: Path) -> None:
    emulator = launch_emulator(start_pubsub, "launcher-test")
    pgid = emulator.pgid
    assert emulator.host.startswith("127.0.0.1:")
    assert emulator.env() == {"PUBSUB_EMULATOR_HOST": emulator.host}
    assert emulator.log_path.parent == tmp_path and emulator.log_path.exists()
    assert 0 < emulator.startup_seconds < 30
    assert _group_alive(pgid)
    assert emulator.ensure_topic("launcher-topic") == "projects/launcher-test/topics/launcher-topic"

    emulator.stop()

    assert not _group_alive(pgid)
    assert emulator.process.returncode is not None
    emulator.stop()  # idempotent


def test_firestore_emulator_stops_the_java_child_of_its_wrapper_script(
        launch_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = launch_emulator(start_firestore, "launcher-test")
    with emulator:
        pgid = emulator.pgid
        client = _firestore_client(emulator, "launcher-test", monkeypatch)
        client.document("launcher/ready").set({"ok": True})
        assert client.document("launcher/ready").get().get("ok") is True
    assert not _group_alive(pgid)
    emulator.stop()


def _first_port_chosen_is(busy: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The launcher's first free port is `busy`, the later ones free; returns the ports chosen, in order."""
    import sandbox.emulators as emulators

    chosen: list[int] = []
    free_port = emulators._free_port

    def first_taken() -> int:
        chosen.append(busy if not chosen else free_port())
        return chosen[-1]

    monkeypatch.setattr(emulators, "_free_port", first_taken)
    return chosen


def test_a_port_taken_before_the_emulator_binds_it_is_retried_on_another(
        launch_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The port chosen free can be taken before the emulator binds it (another run, or the Firestore
    emulator's own WebSocket server on a port of the kernel's choosing): its bind fails, it exits with
    "Address already in use", and the launcher tries a fresh port instead of failing the run. Before,
    such a start raised EmulatorFailed."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        chosen = _first_port_chosen_is(busy, monkeypatch)
        emulator = launch_emulator(start_firestore, "launcher-test")
        with emulator:
            assert chosen[0] == busy and emulator.port == chosen[1] != busy
            client = _firestore_client(emulator, "launcher-test", monkeypatch)
            client.document("launcher/retried").set({"ok": True})
            assert client.document("launcher/retried").get().get("ok") is True
        emulator.stop()


def test_a_port_taken_by_a_server_answering_http2_is_retried_on_another(
        launch_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The port chosen free was taken by a server that answers, in HTTP/2 (a gRPC server: another run's
    emulator or stand-in), before the Pub/Sub emulator bound it. The readiness probe's HTTP/1.1 request
    then reads an HTTP/2 frame and http.client raises BadStatusLine, which is no OSError: the launcher
    raised it at once, before the emulator's own "Address already in use" exit could send it to a fresh
    port (seen once in a parallel run: `BadStatusLine: ... @ ... @ ...`, a SETTINGS frame). Now the probe
    reads it as "not our server yet" and the bind failure is retried as any other."""
    import socket
    import threading

    settings_frame = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken.settimeout(0.2)
        busy = taken.getsockname()[1]
        stop = threading.Event()

        def answer_http2() -> None:
            while not stop.is_set():
                try:
                    conn, _ = taken.accept()
                except OSError:
                    continue
                with conn:
                    conn.sendall(settings_frame)

        server = threading.Thread(target=answer_http2, daemon=True)
        server.start()
        chosen = _first_port_chosen_is(busy, monkeypatch)
        try:
            emulator = launch_emulator(start_pubsub, "launcher-test")
            with emulator:
                assert chosen[0] == busy and emulator.port == chosen[1] != busy
                emulator.probe()
            emulator.stop()
        finally:
            stop.set()
            server.join(timeout=5)


def test_missing_emulator_raises_with_install_hint(tmp_path: Path) -> None:
    with pytest.raises(EmulatorMissing) as pubsub_missing:
        start_pubsub(sdk_root=tmp_path)
    with pytest.raises(EmulatorMissing) as firestore_missing:
        start_firestore(sdk_root=tmp_path)
    assert "gcloud components install pubsub-emulator" in str(pubsub_missing.value)
    assert "google-cloud-cli-firestore-emulator" in str(firestore_missing.value)
    assert "Java 17" in str(firestore_missing.value)


def test_firestore_reset_deletes_documents(firestore_emulator: FirestoreEmulator, project_id: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    document = _firestore_client(firestore_emulator, project_id, monkeypatch).document("reset_test/doc")
    document.set({"n": 1})
    assert document.get().exists

    firestore_emulator.reset()

    assert not document.get().exists


def test_pubsub_reset_deletes_topics_and_subscriptions(pubsub_emulator: PubSubEmulator) -> None:
    project = "reset-test"
    ns = PubSubNamespace(project=project, host=pubsub_emulator.host)
    topic = ns.topic("events")
    ns.pull_subscription(topic)
    ensure_push_subscription(project, ns.name("push"), topic.rsplit("/", 1)[-1], "http://127.0.0.1:9/x",
                             host=pubsub_emulator.host)
    assert len(pubsub_emulator.list_resources("subscriptions", project)) == 2

    pubsub_emulator.reset(project)

    assert pubsub_emulator.list_resources("topics", project) == []
    assert pubsub_emulator.list_resources("subscriptions", project) == []


def test_pubsub_fixture_points_the_env_at_the_emulator(pubsub: PubSubNamespace,
                                                      pubsub_emulator: PubSubEmulator) -> None:
    assert os.environ["PUBSUB_EMULATOR_HOST"] == pubsub_emulator.host
    assert pubsub.name("t") != PubSubNamespace(project=pubsub.project, host=pubsub.host).name("t")


def test_pull_helper_returns_published_messages(pubsub: PubSubNamespace) -> None:
    from google.cloud import pubsub_v1

    topic = pubsub.topic()
    subscription = pubsub.pull_subscription(topic)
    pubsub_v1.PublisherClient().publish(topic, b"hello", origin="test").result(timeout=10)

    [message] = pubsub.pull(subscription, max_messages=1, timeout=10)

    assert (message.data, message.attributes) == (b"hello", {"origin": "test"})
    assert pubsub.pull(subscription, max_messages=1, timeout=0.5) == []  # acked, not redelivered


def test_a_crashing_process_leaves_no_emulator_behind(pubsub_emulator: PubSubEmulator, tmp_path: Path) -> None:
    # (pubsub_emulator only applies the skip/fail policy when the emulator is missing.)
    crash = ("import sys; from sandbox.emulators import start_pubsub\n"
             f"emulator = start_pubsub('crash-test', log_dir={str(tmp_path)!r})\n"
             "print(emulator.pgid, flush=True)\n"
             "raise SystemExit('crash: uncaught error after start')")
    done = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, timeout=60)

    assert done.returncode != 0 and "crash" in done.stderr
    pgid = int(done.stdout.strip())
    assert not _group_alive(pgid)
