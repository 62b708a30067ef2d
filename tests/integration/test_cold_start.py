"""The instance warm-up (functions/runtime.py) on the real clients: what it builds is what the
first alert uses, what it imports is all the alert needs, and a client it cannot build is built
by the alert itself."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

import functions.runtime as instance
from sandbox.scenarios import resolve_scenario, start_seeded

pytestmark = pytest.mark.emulator
ROOT = Path(__file__).resolve().parents[2]
MARK = "COLD-START-PROBE "
# bad_revision whose rollback target pins secret versions (all ENABLED): the alert reads them on Secret Manager
# (collection.target_secret_reads) before its first write, so that client is one the warm-up must build.
SCENARIO = "rollback_target_secret_version_enabled_control"


class ColdWorld:
    """Stand-ins seeded with SCENARIO (a bad_revision) as of two minutes ago (the function's clock is real),
    the emulators, and Runwarden's config file, named by RUNWARDEN_CONFIG."""

    def __init__(self, standins: Any, pubsub: Any, anchor: datetime, config_path: Path) -> None:
        self.standins, self.pubsub, self.anchor, self.config_path = standins, pubsub, anchor, config_path
        self.scenario = resolve_scenario(SCENARIO)

    def event(self) -> dict[str, Any]:
        notification = self.scenario.notification(self.anchor, incident_id=f"0.{uuid.uuid4().hex[:12]}")
        return {"message": {"data": base64.b64encode(json.dumps(notification).encode()).decode(),
                            "messageId": uuid.uuid4().hex}}


@pytest.fixture
def cold_world(firestore, pubsub, project_id, tmp_path, monkeypatch) -> Iterator[ColdWorld]:
    anchor = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    scenario = resolve_scenario(SCENARIO)
    standins = start_seeded(scenario, anchor=anchor)
    try:
        for name, value in standins.env().items():
            monkeypatch.setenv(name, value)
        topic = pubsub.topic("outcomes")
        config_path = tmp_path / "runwarden.yaml"
        config_path.write_text(yaml.safe_dump(scenario.config_data(topic, "enforce", project_id), sort_keys=False))
        monkeypatch.setenv("RUNWARDEN_CONFIG", str(config_path))
        monkeypatch.delenv("FUNCTION_TARGET", raising=False)
        instance.reset()
        yield ColdWorld(standins, pubsub, anchor, config_path)
    finally:
        instance.reset()
        standins.stop()


def clients_of(adapters: Any) -> dict[str, Any]:
    """Each adapter's client objects (None where not built yet)."""
    return {"state": adapters.state._client, "run": (adapters.run._services, adapters.run._revisions),
            "monitoring": adapters.monitoring._client, "logging": adapters.logging._client,
            "vpcaccess": adapters.vpcaccess._session, "publisher": adapters.publisher._client,
            "secretmanager": getattr(adapters.secretmanager, "_clients", {}).get("")}


def run_probe(probe: str, event: dict[str, Any]) -> dict[str, Any]:
    """Runs `probe` in a new interpreter (a new instance) with the event as its argument: what it
    printed behind MARK, last."""
    env = {k: v for k, v in os.environ.items() if k != "FUNCTION_TARGET"}
    out = subprocess.run([sys.executable, "-c", probe, json.dumps(event)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith(MARK)]
    assert lines, out.stdout[-2000:] + out.stderr[-2000:]
    return json.loads(lines[-1][len(MARK):])


def handle(event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> int:
    """The alert through functions-framework and main.on_alert, as Pub/Sub pushes it; the HTTP status."""
    import functions_framework

    monkeypatch.setenv("FUNCTION_TARGET", "on_alert")   # create_app sets it too; this restores it after
    app = functions_framework.create_app(target="on_alert", source=str(ROOT / "main.py"), signature_type="cloudevent")
    push = {"subscription": "projects/p/subscriptions/s", "message": event["message"]}
    return app.test_client().post("/projects/p/topics/alerts", json=push).status_code


def test_the_first_alert_uses_the_runtime_and_clients_the_warm_up_built(cold_world, monkeypatch):
    warm = instance.start_warm_up("on_alert", build_clients=True)
    assert warm.done.wait(120)
    assert warm.failures == {}
    assert set(warm.clients) == set(instance.ADAPTER_FIELDS)
    config, adapters = instance.runtime()
    before = clients_of(adapters)
    assert all(client is not None for client in before.values()), before
    assert None not in before["run"]

    status = handle(cold_world.event(), monkeypatch)

    assert status < 300
    assert cold_world.standins.run.count("UpdateService") == 1   # it rolled back
    assert cold_world.standins.secretmanager.count("GetSecretVersion") == 2   # its target's versions read
    assert instance.runtime()[1] is adapters                     # the same runtime ...
    after = clients_of(adapters)
    for name, client in before.items():                          # ... and the very same clients
        if isinstance(client, tuple):
            assert all(a is b for a, b in zip(client, after[name])), name
        else:
            assert after[name] is client, name


def test_once_warmed_up_an_alert_imports_no_other_google_module(cold_world):
    # A fresh interpreter: what the warm-up imported is all that handling an alert needs
    # (shared.gcp.endpoints.CLIENT_LIBRARIES is complete).
    probe = (
        "import json, sys\n"
        "import functions.runtime as instance\n"
        "warm = instance.start_warm_up('on_alert', build_clients=True)\n"
        "warm.done.wait(120)\n"
        "before = set(sys.modules)\n"
        "from shared.pipeline import handle_alert\n"
        "config, adapters = instance.runtime()\n"
        "outcome = handle_alert(json.loads(sys.argv[1]), config, adapters)\n"
        "new = sorted(m for m in set(sys.modules) - before if m.split('.')[0] in ('google', 'grpc', 'proto'))\n"
        f"print({MARK!r} + json.dumps({{'failures': warm.failures, 'status': outcome.status.value, 'new': new}}))\n")
    report = run_probe(probe, cold_world.event())

    assert report["failures"] == {}
    assert report["status"] == "applied"
    assert report["new"] == []


def test_a_client_the_warm_up_cannot_build_is_reported_and_built_by_the_alert(cold_world, monkeypatch, capsys):
    # No emulator for Pub/Sub and unreadable credentials: the publisher cannot be built yet.
    pubsub_env = {name: os.environ[name] for name in ("PUBSUB_EMULATOR_HOST",)}
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(cold_world.config_path.parent / "missing-adc.json"))

    warm = instance.start_warm_up("on_alert", build_clients=True)
    assert warm.done.wait(120)

    assert set(warm.failures) == {"publisher"}
    assert "missing-adc.json" in warm.failures["publisher"]
    assert set(warm.clients) == set(instance.ADAPTER_FIELDS) - {"publisher"}
    _, adapters = instance.runtime()
    assert adapters.publisher._client is None                    # nothing half-built left behind
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [report] = [line for line in lines if line["runwarden"]["step"] == "warm_up"]
    assert report["severity"] == "WARNING"
    assert "publisher" in report["message"] and "missing-adc.json" in report["message"]

    # The environment is right again by the time the alert comes: the alert builds the client itself.
    for name, value in pubsub_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    status = handle(cold_world.event(), monkeypatch)

    assert status < 300
    assert cold_world.standins.run.count("UpdateService") == 1
    assert adapters.publisher._client is not None
    published = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line["runwarden"]["step"] == "outcome_published" for line in published)


def test_an_alert_that_starts_the_instance_writes_before_the_pubsub_library_is_imported(cold_world):
    # Scale from zero: the event is in flight while the warm-up builds the clients. The first write
    # needs no Pub/Sub, so the warm-up leaves it until the event ends; the event imports it and
    # builds the publisher itself when it publishes its outcome, and the warm-up keeps that client.
    probe = (
        "import json, sys, time\n"
        "import functions.runtime as instance\n"
        "from shared.pipeline import handle_alert\n"
        "with instance.handling() as (config, adapters):\n"
        "    warm = instance.start_warm_up('on_alert', build_clients=True)\n"
        "    deadline = time.monotonic() + 120\n"
        f"    while len(warm.clients) < {len(instance.ADAPTER_FIELDS) - len(instance.DEFERRED_FIELDS)} and not warm.failures"
        " and time.monotonic() < deadline:\n"
        "        time.sleep(0.01)\n"
        "    seen = {'clients_first': list(warm.clients)}\n"
        "    set_traffic = adapters.run.set_traffic\n"
        "    def recorded(*args, **kwargs):\n"
        "        seen['pubsub_at_write'] = 'google.cloud.pubsub_v1' in sys.modules\n"
        "        return set_traffic(*args, **kwargs)\n"
        "    adapters.run.set_traffic = recorded\n"
        "    outcome = handle_alert(json.loads(sys.argv[1]), config, adapters)\n"
        "    seen['status'] = outcome.status.value\n"
        "    seen['warm_up_waiting'] = not warm.done.is_set()\n"
        "    publisher = adapters.publisher._client\n"
        "seen['done'] = warm.done.wait(120)\n"
        "seen['same_publisher'] = adapters.publisher._client is publisher and publisher is not None\n"
        "seen['clients'] = sorted(warm.clients)\n"
        "seen['failures'] = warm.failures\n"
        f"print({MARK!r} + json.dumps(seen))\n")
    seen = run_probe(probe, cold_world.event())

    assert seen["clients_first"] == [n for n in instance.ADAPTER_FIELDS if n not in instance.DEFERRED_FIELDS]
    assert seen["status"] == "applied"
    assert seen["pubsub_at_write"] is False       # the first write waited for no Pub/Sub import
    assert seen["warm_up_waiting"] is True        # the deferred part waited for the event ...
    assert seen["done"] is True                   # ... and finished once it ended,
    assert seen["same_publisher"] is True         # keeping the client the event built
    assert seen["clients"] == sorted(instance.ADAPTER_FIELDS) and seen["failures"] == {}
