"""Shared by the end-to-end tests: a local stack whose incident began two minutes ago."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from sandbox.emulators import EmulatorMissing
from sandbox.stack import Sandbox


def live_sandbox(scenario: str = "bad_revision", **options: object) -> Sandbox:
    """A started Sandbox whose incident began two minutes ago, so that the scenario's data is "live"
    for the function's real clock. Skips without the emulators (fails under CI=true)."""
    anchor = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    try:
        return Sandbox(scenario, anchor=anchor, **options).start()
    except EmulatorMissing as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and an emulator is missing: {exc}", pytrace=False)
        pytest.skip(str(exc))
