"""`make demo` and `make test` from a fresh clone: the Makefile's install step.

The README promises that both commands create .venv and install what they need on first use, on a
machine with Python 3.11 or later. The install rule is read here, and run on a copy of the
Makefile with a stand-in interpreter (nothing is installed).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.terraform import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()


def _prerequisites(target: str) -> set[str]:
    line = re.search(rf"^{re.escape(target)}:([^\n]*)$", MAKEFILE, flags=re.M)
    assert line, f"no rule for {target}"
    return set(line.group(1).split())


def test_the_install_runs_again_when_any_file_pip_reads_changes() -> None:
    """pip reads the requirements files, and `pip install -e .` reads pyproject.toml and setup.py
    (which maps the source root into the package): a change to any of them must reinstall."""
    assert {"requirements.txt", "requirements-dev.txt", "pyproject.toml", "setup.py"} <= _prerequisites("$(STAMP)")
    assert "$(STAMP)" in _prerequisites("test") and "$(STAMP)" in _prerequisites("demo")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_an_older_python_is_refused_before_anything_is_installed(tmp_path: Path) -> None:
    """A python3 older than 3.11 would create .venv, install every requirement and only then fail
    on `pip install -e .` (requires-python); the rule says so first, naming what to run."""
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "pyproject.toml", "setup.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    old = tmp_path / "python3.10"
    old.write_text("#!/bin/sh\n# answers every version check as an older Python would\nexit 1\n")
    old.chmod(0o755)
    done = subprocess.run(["make", f"PYTHON={old}", ".venv/.installed"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "is not Python 3.11 or later" in done.stderr, done.stdout + done.stderr
    assert not (tmp_path / ".venv").exists(), "a virtualenv was created before the version was checked"
