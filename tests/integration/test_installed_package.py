"""`pip install .` as a user gets it: one top-level name, `runwarden`, and a working command that
runs outside the checkout.

The wheel is built from the working tree and installed into a directory of its own. The command
runs from an empty directory, with only that directory added to the path, so nothing from the
checkout can stand in for what the wheel should carry. The dependencies come from the test
environment (the wheel is installed with --no-deps).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sandbox.scenarios import resolve_scenario
from shared import __version__

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
GENERIC = ("shared", "functions", "cli", "sandbox", "main", "tests", "bench")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy without build/: setuptools builds in the tree and reuses its build/lib, where
    # a module deleted from the source would linger and ship in the wheel unseen.
    source = tmp_path_factory.mktemp("source") / "runwarden"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "dist", "*.egg-info", ".hypothesis", ".pytest_cache", "__pycache__", ".terraform"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("runwarden-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return target


@pytest.fixture(scope="module")
def emulators_installed(pubsub_emulator, firestore_emulator) -> None:
    """Skips (or fails under CI=true) with the EmulatorMissing message when they are not."""


def run_installed(installed: Path, cwd: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(installed)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_wheel_installs_one_top_level_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"runwarden", f"runwarden-{__version__}.dist-info"}, tops
    top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
    assert zipfile.ZipFile(wheel).read(top_level).decode().split() == ["runwarden"]


def test_the_wheel_carries_the_function_source_and_nothing_else(wheel: Path) -> None:
    bundled = {n.removeprefix("runwarden/_source/") for n in zipfile.ZipFile(wheel).namelist()
               if n.startswith("runwarden/_source/")}
    assert "main.py" in bundled and "setup.py" not in bundled
    tracked = subprocess.run(["git", "ls-files", "main.py", "functions", "shared", "cli", "sandbox"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    if tracked:   # a checkout: every tracked source file is in the wheel
        assert set(tracked) <= bundled, set(tracked) - bundled
    assert {n.split("/")[0] for n in bundled} == {"main.py", "functions", "shared", "cli", "sandbox"}
    assert any(n.startswith("sandbox/scenarios/") and n.endswith(".yaml") for n in bundled)


def test_the_command_runs_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    done = run_installed(installed, tmp_path, "-m", "runwarden", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"runwarden {__version__}"

    script = installed / "bin" / "runwarden"
    assert script.is_file()
    done = run_installed(installed, tmp_path, str(script), "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"runwarden {__version__}", done.stderr


@pytest.mark.parametrize("name", GENERIC)
def test_no_generic_name_comes_from_the_install(installed: Path, tmp_path: Path, name: str) -> None:
    # Another distribution may own the name (python-hcl2, a dev dependency, installs `cli`): that is
    # the clash this layout avoids. What matters is that the name never resolves into our install.
    probe = f"import importlib.util as u; s = u.find_spec({name!r}); print(s.origin if s else '')"
    done = run_installed(installed, tmp_path, "-c", probe)
    assert done.returncode == 0, done.stderr
    assert str(installed) not in done.stdout, (name, done.stdout)


def test_the_installed_command_diagnoses_a_bundled_scenario(installed: Path, tmp_path: Path) -> None:
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(resolve_scenario("connector_saturation").notification(ANCHOR)))
    done = run_installed(installed, tmp_path, "-m", "runwarden", "diagnose", str(alert),
                         "--scenario", "connector_saturation", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["diagnosis"]["signature"] == "connector_saturation"
    assert report["would"]["action"] == "scale_connector"


@pytest.mark.emulator
def test_the_installed_command_replays_through_its_own_main(emulators_installed: None, installed: Path,
                                                           tmp_path: Path) -> None:
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(resolve_scenario("bad_revision").notification(ANCHOR)))
    done = run_installed(installed, tmp_path, "-m", "runwarden", "replay", str(alert), "--scenario", "bad_revision",
                         "--json", timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["status"] == "applied" and outcome["diagnosis"]["signature"] == "bad_revision"
