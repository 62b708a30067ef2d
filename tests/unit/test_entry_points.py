"""The deployed entry points: what main.py exports and what importing it costs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ["google.cloud.pubsub_v1", "google.cloud.run_v2", "google.cloud.monitoring_v3",
         "google.cloud.firestore", "google.cloud.logging", "grpc", "shared.pipeline"]


def test_importing_main_loads_no_google_client_library():
    probe = f"import json, sys, main; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_main_exports_only_working_entry_points():
    import main

    assert main.__all__ == ["on_alert"]
    assert callable(main.on_alert)


def test_deploy_ignores_the_sandbox_and_tests():
    ignored = (ROOT / ".gcloudignore").read_text().split()
    for path in ("sandbox/", "tests/", "cli/", "bench/"):
        assert path in ignored


def test_shared_never_imports_the_sandbox_or_the_cli():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "shared").rglob("*.py")
                 if any(line.strip().startswith(("import sandbox", "from sandbox", "import cli", "from cli"))
                        for line in p.read_text().splitlines())]
    assert offenders == []
