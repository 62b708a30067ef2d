"""The installed `runwarden` command: it runs the function source that ships inside this package.

`pip install .` puts one top-level name into site-packages, `runwarden`. Runwarden's own code
keeps the layout Cloud Functions deploys (`main.py`, `functions/`, `shared/` at one root), and the
operator tools (`cli/`, `sandbox/`) sit beside it. The wheel carries that root as
`runwarden/_source/`. The command puts the root on `sys.path`, in this process only, the way the
Functions runtime puts the uploaded source on its path, and then runs `cli`. So `runwarden replay`
runs the same `main.py` a deployment runs, and nothing named `shared` or `cli` becomes importable
for other software in the environment.

In a checkout (or an editable install), the root is this package's parent directory.
"""
from __future__ import annotations

import sys
from pathlib import Path

_BUNDLED = "_source"
_MARKERS = ("main.py", "functions", "shared", "cli", "sandbox")


class SourceNotFound(RuntimeError):
    """The function source is neither bundled with the package nor beside it."""


def source_root() -> Path:
    """The directory holding main.py, functions/, shared/, cli/ and sandbox/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / _BUNDLED, here.parent):
        if all((candidate / marker).exists() for marker in _MARKERS):
            return candidate
    raise SourceNotFound(
        f"runwarden: the function source (main.py, functions/, shared/, cli/, sandbox/) is not in "
        f"{here / _BUNDLED} nor in {here.parent}; reinstall with `pip install .` from a checkout")


def use_source_root() -> Path:
    """Put the source root first on sys.path (once) and return it."""
    root = source_root()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return root


def main() -> None:
    """The `runwarden` console script."""
    try:
        use_source_root()
    except SourceNotFound as error:
        raise SystemExit(str(error)) from None
    from cli.main import main as run_cli

    run_cli()
