"""The deployed entry points: what main.py exports and what importing it costs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ["google.cloud.pubsub_v1", "google.cloud.run_v2", "google.cloud.monitoring_v3",
         "google.cloud.firestore", "google.cloud.logging", "grpc", "shared.pipeline"]


def _env(**extra: str) -> dict[str, str]:
    # functions_framework.create_app sets FUNCTION_TARGET in the environment of whatever process
    # calls it: a probe starts from a known one.
    return {**{k: v for k, v in os.environ.items() if k != "FUNCTION_TARGET"}, **extra}


def test_importing_main_loads_no_google_client_library():
    probe = f"import json, sys, main; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=_env(), capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# Records which thread imported each module: under functions-framework the warm-up imports the
# Google libraries on its own thread, and `import main` itself must still import none of them.
_IMPORT_RECORDER = """
import json, sys, threading
import functions_framework  # already imported when functions-framework imports main
class Recorder:
    seen = []
    def find_spec(self, name, path=None, target=None):
        self.seen.append((threading.current_thread().name, name))
        return None
recorder = Recorder()
sys.meta_path.insert(0, recorder)
import main
import functions.runtime as instance
warm = instance.warm_up_status()
if warm is not None:
    warm.done.wait(120)
heavy = lambda name: name.split(".")[0] == "grpc" or name.startswith(("google.cloud", "google.auth", "shared.pipeline"))
by_main = sorted({n for t, n in recorder.seen if heavy(n) and t == "MainThread"})
by_warm_up = sorted({n for t, n in recorder.seen if heavy(n) and t == "runwarden-warm-up"})
print("PROBE " + json.dumps({"warm_up": warm is not None, "by_main": by_main, "by_warm_up": len(by_warm_up)}))
"""


def _import_probe(target: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _IMPORT_RECORDER], cwd=ROOT, capture_output=True, text=True,
                         check=True, env=_env(FUNCTION_TARGET=target, RUNWARDEN_CONFIG=str(ROOT / "missing.yaml")))
    [line] = [line for line in out.stdout.splitlines() if line.startswith("PROBE ")]
    return json.loads(line[len("PROBE "):])


def test_under_functions_framework_importing_main_still_imports_no_google_library_itself():
    report = _import_probe("on_alert")

    assert report["warm_up"] is True
    assert report["by_main"] == []          # import main stays cheap ...
    assert report["by_warm_up"] > 0         # ... the warm-up thread does the importing


def test_the_timeline_function_starts_no_warm_up():
    report = _import_probe("incident_timeline")

    assert report == {"warm_up": False, "by_main": [], "by_warm_up": 0}


def test_a_warm_up_that_meets_a_bad_config_reports_it_and_the_event_still_meets_it(tmp_path, monkeypatch, capsys):
    import functions.runtime as instance
    from shared.config import ConfigError

    (tmp_path / "bad.yaml").write_text("project: p\noutcomes_topic: not-a-topic\n")
    monkeypatch.setenv("RUNWARDEN_CONFIG", str(tmp_path / "bad.yaml"))
    instance.reset()
    try:
        warm = instance.start_warm_up("on_alert", build_clients=False)
        assert warm.done.wait(120)

        assert list(warm.failures) == ["runtime"] and "outcomes_topic" in warm.failures["runtime"]
        with pytest.raises(ConfigError):   # not cached: the event meets the error, and is redelivered
            instance.runtime()
    finally:
        instance.reset()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    steps = [(line["runwarden"]["step"], line["severity"]) for line in lines]
    assert steps == [("config_error", "CRITICAL"), ("warm_up", "WARNING"), ("config_error", "CRITICAL")]


def test_main_exports_only_working_entry_points():
    import main

    assert main.__all__ == ["on_alert", "on_command", "incident_timeline"]
    assert callable(main.on_alert) and callable(main.on_command) and callable(main.incident_timeline)


def test_deploy_ignores_the_sandbox_and_tests():
    ignored = (ROOT / ".gcloudignore").read_text().split()
    for path in ("sandbox/", "tests/", "cli/", "bench/"):
        assert path in ignored


def test_a_bad_config_fails_loudly_so_the_alert_is_redelivered(tmp_path, monkeypatch, capsys):
    import base64

    import functions_framework

    import functions.runtime

    (tmp_path / "bad.yaml").write_text("project: p\noutcomes_topic: not-a-topic\n")
    monkeypatch.setenv("RUNWARDEN_CONFIG", str(tmp_path / "bad.yaml"))
    monkeypatch.setenv("FUNCTION_TARGET", "on_alert")   # create_app sets it; this removes it afterwards
    functions.runtime.reset()
    app = functions_framework.create_app(target="on_alert", source=str(ROOT / "main.py"),
                                         signature_type="cloudevent")
    push = {"subscription": "projects/p/subscriptions/s",
            "message": {"data": base64.b64encode(b"{}").decode(), "messageId": "1"}}

    response = app.test_client().post("/projects/p/topics/alerts", json=push)

    # Not acknowledged (Pub/Sub keeps the alert), and no crash: the CRITICAL line is the one page.
    assert response.status_code == 503
    assert "X-Google-Status" not in response.headers and "outcomes_topic" in response.get_data(as_text=True)
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    assert any(line["severity"] == "CRITICAL" and "outcomes_topic" in line["message"] for line in lines)
    assert "Traceback" not in captured.err + captured.out


_FORK_HOOK_PROBE = """
import json, os, threading
paired = []
register = os.register_at_fork
def recording(**hooks):
    if "after_in_parent" in hooks and threading.current_thread() is not threading.main_thread():
        paired.append(getattr(hooks["after_in_parent"], "__qualname__", repr(hooks["after_in_parent"])))
    return register(**hooks)
os.register_at_fork = recording
import main
from functions.runtime import warm_up_status
warm_up_status().done.wait(120)
print("PROBE " + json.dumps(paired))
"""


def test_the_warm_up_registers_no_paired_fork_hook_a_fork_could_split():
    """gunicorn forks the worker while the master's warm-up may still be importing (its
    `_before_fork` hook waits for it). A module imported then that registers a paired hook
    (before=acquire, after_in_parent=release: concurrent.futures.thread) gets only its release
    run at that fork: "RuntimeError: release unlocked lock" and a traceback in the master's stderr
    at every instance start, which the watchdog's function-errors alert pages on. Such modules
    are imported before the warm-up starts (functions/runtime.py)."""
    out = subprocess.run([sys.executable, "-c", _FORK_HOOK_PROBE], cwd=ROOT, capture_output=True, text=True,
                         check=True, env=_env(FUNCTION_TARGET="on_alert",
                                              RUNWARDEN_CONFIG=str(ROOT / "runwarden.example.yaml")))
    [line] = [line for line in out.stdout.splitlines() if line.startswith("PROBE ")]
    assert json.loads(line[len("PROBE "):]) == []


_GC_PROBE = """
import gc, json
import functions_framework
import main
import functions.runtime as instance
warm = instance.warm_up_status()
warm.done.wait(120)
print("PROBE " + json.dumps({"quiet_gc": warm.quiet_gc, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                             "reported": warm.gc_frozen}))
"""


def test_the_warm_up_at_import_freezes_what_it_imported_and_leaves_the_collector_on():
    out = subprocess.run([sys.executable, "-c", _GC_PROBE], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=_env(FUNCTION_TARGET="on_alert", RUNWARDEN_CONFIG=str(ROOT / "missing.yaml")))
    [line] = [line for line in out.stdout.splitlines() if line.startswith("PROBE ")]
    report = json.loads(line[len("PROBE "):])

    assert report["quiet_gc"] is True and report["enabled"] is True   # on again, as the worker expects it
    assert report["reported"] > 10_000                                # the imported libraries' objects ...
    assert report["frozen"] > 10_000                                  # ... still out of the collector's scans


class _Adapter:
    """An adapter whose client build is recorded (no client at all: the warm-up's order is the test)."""

    def __init__(self, name: str, built: list[str]) -> None:
        self.name, self.built = name, built

    def warm(self) -> None:
        self.built.append(self.name)


@pytest.fixture
def fake_runtime(monkeypatch):
    import types

    import functions.runtime as instance

    built: list[str] = []
    adapters = types.SimpleNamespace(**{name: _Adapter(name, built) for name in instance.ADAPTER_FIELDS})
    monkeypatch.setattr(instance, "_build", lambda: ("config", adapters))
    instance.reset()
    yield instance, built
    instance.reset()


def _first_write_clients(instance) -> list[str]:
    return [name for name in instance.ADAPTER_FIELDS if name not in instance.DEFERRED_FIELDS]


def _wait_for(condition, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_deferred_clients_wait_until_no_event_is_being_handled(fake_runtime):
    instance, built = fake_runtime

    with instance.handling() as (config, adapters):           # an event arrived with the instance
        warm = instance.start_warm_up("on_alert", build_clients=True)
        _wait_for(lambda: len(built) == len(_first_write_clients(instance)))
        assert built == _first_write_clients(instance)         # what the first write needs: right away
        assert not warm.done.wait(0.3)                         # the publisher waits for the event
        assert "publisher" not in built

    assert warm.done.wait(60)
    assert built == list(instance.ADAPTER_FIELDS)
    assert set(warm.clients) == set(instance.ADAPTER_FIELDS) and warm.failures == {}
    assert warm.waited > 0


def test_with_no_event_in_flight_the_warm_up_builds_every_client_at_once(fake_runtime):
    instance, built = fake_runtime

    warm = instance.start_warm_up("on_alert", build_clients=True)

    assert warm.done.wait(60)
    assert built == list(instance.ADAPTER_FIELDS)


def test_reset_cancels_a_deferred_part_still_waiting_for_an_event(fake_runtime):
    instance, built = fake_runtime

    with instance.handling():
        warm = instance.start_warm_up("on_alert", build_clients=True)
        _wait_for(lambda: len(built) == len(_first_write_clients(instance)))
        instance.reset()                                       # returns: the waiting part gives up

    assert warm.done.is_set() and warm.cancelled
    assert "publisher" not in built


def test_an_event_that_fails_still_ends_its_scope(fake_runtime):
    instance, built = fake_runtime

    with pytest.raises(RuntimeError):
        with instance.handling():
            raise RuntimeError("a bug in the handler")
    warm = instance.start_warm_up("on_alert", build_clients=True)

    assert warm.done.wait(60)                                  # not waiting for an event that is over
    assert "publisher" in built
