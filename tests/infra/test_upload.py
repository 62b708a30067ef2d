"""What the functions' source upload holds: the deployed layout and the config, nothing else.

Two paths upload it: `gcloud functions deploy` reads .gcloudignore (gitignore syntax, gcloud
`topic gcloudignore`), and Terraform zips source_dir minus `source_excludes` (the archive
provider's excludes: paths relative to source_dir, glob patterns with `**`, a matching
directory skipped whole). Both are computed here over the working tree and over a tree that
holds what a developer's checkout accumulates, and must agree.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pathspec
import pytest

from tests.infra.terraform import ROOT, load_module

DEPLOYED = ("main.py", "requirements.txt", "LICENSE", "runwarden.yaml")
NEVER = (".hypothesis/", "tests/", "sandbox/", "cli/", ".venv/", ".git/", "infra/", "bench/", "docs/",
         "__pycache__/", ".venv-checkov/", ".pytest_cache/", "runwarden/")


def gcloud_upload(root: Path) -> set[str]:
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".gcloudignore").read_text().splitlines())
    found = set()
    for directory, dirs, files in os.walk(root):
        rel_dir = Path(directory).relative_to(root)
        dirs[:] = [d for d in dirs if not spec.match_file(f"{(rel_dir / d).as_posix()}/")]
        for name in files:
            rel = (rel_dir / name).as_posix()
            if not spec.match_file(rel):
                found.add(rel)
    return found


def _glob(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def terraform_upload(root: Path) -> set[str]:
    default = load_module().variables["source_excludes"]["default"]
    patterns = [_glob(p) for p in default]

    def excluded(rel: str) -> bool:
        return any(p.match(rel) for p in patterns)

    found = set()
    for directory, dirs, files in os.walk(root):
        rel_dir = Path(directory).relative_to(root)
        dirs[:] = [d for d in dirs if not excluded((rel_dir / d).as_posix())]
        found.update(rel for rel in ((rel_dir / f).as_posix() for f in files) if not excluded(rel))
    return found


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the tracked layout plus what a developer's checkout accumulates."""
    for rel in ("main.py", "requirements.txt", "requirements-dev.txt", "LICENSE", "runwarden.yaml",
                "runwarden.example.yaml", "pyproject.toml", "Makefile", "README.md", "CHANGELOG.md",
                "cloudbuild.yaml", ".gcloudignore", ".gitignore", "setup.py", "runwarden/__init__.py",
                "functions/__init__.py", "functions/alerts.py", "shared/__init__.py", "shared/gcp/run.py",
                "shared/gcp/__pycache__/run.cpython-311.pyc", "shared/stray.pyc",
                "sandbox/demo.py", "sandbox/scenarios/bad_revision.yaml", "cli/main.py", "tests/unit/test_x.py",
                ".hypothesis/examples/abc", ".pytest_cache/v/cache", ".venv/bin/python", ".venv-checkov/bin/checkov",
                ".git/HEAD", "infra/main.tf", "infra/examples/basic/.terraform/runwarden-source.zip",
                "bench/import_time.py", "docs/deploy.md", ".ci/run", "runwarden.egg-info/PKG-INFO"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    return tmp_path


def test_the_upload_holds_the_deployed_layout_only(checkout: Path) -> None:
    uploaded = gcloud_upload(checkout)
    assert uploaded == {"main.py", "requirements.txt", "LICENSE", "runwarden.yaml",
                        "functions/__init__.py", "functions/alerts.py", "shared/__init__.py", "shared/gcp/run.py"}


def test_terraform_uploads_the_same_files(checkout: Path) -> None:
    assert terraform_upload(checkout) == gcloud_upload(checkout)


def test_the_working_tree_upload() -> None:
    uploaded = gcloud_upload(ROOT)
    print("would upload:", *sorted(uploaded), sep="\n  ")
    for rel in uploaded:
        assert not any(rel.startswith(n) or f"/{n}" in f"/{rel}" for n in NEVER), f"{rel} would be uploaded"
        assert rel in DEPLOYED or rel.split("/")[0] in {"functions", "shared"}, f"{rel} would be uploaded"
    assert {"main.py", "requirements.txt"} <= uploaded
    assert any(r.startswith("shared/") for r in uploaded) and any(r.startswith("functions/") for r in uploaded)
    assert terraform_upload(ROOT) == uploaded
