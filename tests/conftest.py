"""Root fixtures: the project id and Google's real emulators.

Emulators start once per session, on free ports, and stop at the end (or at exit).
Function fixtures give each test a clean view: Firestore is wiped, Pub/Sub names are unique.
A missing emulator skips its tests, except under CI=true where it fails them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest

from sandbox.emulators import (
    Emulator,
    EmulatorMissing,
    FirestoreEmulator,
    PubSubEmulator,
    PubSubNamespace,
    start_firestore,
    start_pubsub,
)

E = TypeVar("E")
EMULATOR_FIXTURES = frozenset({"pubsub_emulator", "firestore_emulator", "launch_emulator"})
PROJECT_ID = "runwarden-test"


# --------------------------------------------------------------------------- hooks


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use an emulator get the `emulator` marker even if they forgot it."""
    for item in items:
        if EMULATOR_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.emulator)


# --------------------------------------------------------------------------- project


@pytest.fixture(scope="session")
def project_id() -> str:
    return PROJECT_ID


# --------------------------------------------------------------------------- emulators


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _start_or_skip(start: Callable[..., E], project: str, log_dir: Path) -> E:
    try:
        return start(project, log_dir=log_dir)
    except EmulatorMissing as exc:
        if _running_in_ci():
            pytest.fail(f"CI=true and an emulator is missing: {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pubsub_emulator(project_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PubSubEmulator]:
    emulator = _start_or_skip(start_pubsub, project_id, tmp_path_factory.mktemp("emulator-logs"))
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def firestore_emulator(project_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    emulator = _start_or_skip(start_firestore, project_id, tmp_path_factory.mktemp("emulator-logs"))
    yield emulator
    emulator.stop()


@pytest.fixture
def launch_emulator(tmp_path: Path) -> Iterator[Callable[[Callable[..., E], str], E]]:
    """launch_emulator(start_pubsub, "p"): a private emulator for tests of the launcher itself,
    under the same skip/fail policy, stopped at teardown if the test did not."""
    started: list[Emulator] = []

    def launch(start: Callable[..., E], project: str) -> E:
        emulator = _start_or_skip(start, project, tmp_path)
        started.append(emulator)  # type: ignore[arg-type]
        return emulator

    yield launch
    for emulator in started:
        emulator.stop()


@pytest.fixture
def firestore(firestore_emulator: FirestoreEmulator, project_id: str,
              monkeypatch: pytest.MonkeyPatch) -> FirestoreEmulator:
    """An empty Firestore emulator, with FIRESTORE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT set."""
    firestore_emulator.reset(project_id)
    for name, value in firestore_emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project_id)
    return firestore_emulator


@pytest.fixture
def pubsub(pubsub_emulator: PubSubEmulator, project_id: str, monkeypatch: pytest.MonkeyPatch) -> PubSubNamespace:
    """PUBSUB_EMULATOR_HOST set, and a name suffix unique to this test (cheaper than a reset)."""
    for name, value in pubsub_emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project_id)
    return PubSubNamespace(project=project_id, host=pubsub_emulator.host)
