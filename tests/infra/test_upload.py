"""What the functions' source upload holds: the deployed layout and the config, nothing else.

Two paths upload it: `gcloud functions deploy` reads .gcloudignore (gitignore syntax, gcloud
`topic gcloudignore`), and Terraform zips the files infra/functions.tf names (`local.source_files`,
evaluated here by terraform itself). Both are allow-lists: computed over the working tree and over a
tree that holds what a developer's checkout accumulates (a downloaded key, a .env, an IDE's files,
a build's output), they must hold the deployed layout only, and the same files.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

import pathspec
import pytest

from tests.infra.terraform import MODULE, ROOT, require_tool, terraform_in

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


def _source_block() -> str:
    """functions.tf's `locals` block that names the uploaded files, as written."""
    text = (MODULE / "functions.tf").read_text()
    found = re.search(r"^locals \{\n  source_roots .*?^\}\n", text, flags=re.M | re.S)
    assert found, "functions.tf has no locals block starting with source_roots"
    return found.group(0)


@pytest.fixture(scope="module")
def terraform_upload(tmp_path_factory) -> Callable[[Path], set[str]]:
    """local.source_files for a source_dir, as terraform evaluates it (no provider needed)."""
    terraform = require_tool("terraform", "terraform is not on the PATH: Terraform's upload is not computed")
    root = tmp_path_factory.mktemp("upload_root")
    (root / "main.tf").write_text('variable "source_dir" {\n  type = string\n}\n'
                                  'variable "config_file" {\n  type    = string\n  default = "runwarden.yaml"\n}\n'
                                  + _source_block())
    terraform_run = terraform_in(terraform, root)

    def upload(source_dir: Path, config_file: str = "runwarden.yaml") -> set[str]:
        done = terraform_run("console", "-no-color", f"-var=source_dir={source_dir}", f"-var=config_file={config_file}",
                             input="jsonencode(local.source_files)\n")
        assert done.returncode == 0, done.stdout + done.stderr
        return set(json.loads(json.loads(done.stdout.strip())))
    return upload


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
                "bench/import_time.py", "docs/deploy.md", ".ci/run", "runwarden.egg-info/PKG-INFO",
                # What no deny-list named: secrets and a person's own files, at the root and in folders.
                ".env", ".env.production", "deployer-key.json", "terraform.tfvars", "terraform.tfstate",
                "notes.md", ".idea/workspace.xml", ".vscode/settings.json", "secrets/prod/db.json",
                "build/test-artifacts/timeline.png", "dist/runwarden-0.2.0.whl", ".terraform/terraform.tfstate"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    return tmp_path


LAYOUT = {"main.py", "requirements.txt", "LICENSE", "runwarden.yaml",
          "functions/__init__.py", "functions/alerts.py", "shared/__init__.py", "shared/gcp/run.py"}


def test_the_upload_holds_the_deployed_layout_only(checkout: Path) -> None:
    assert gcloud_upload(checkout) == LAYOUT


def test_terraform_uploads_the_same_files(checkout: Path, terraform_upload) -> None:
    assert terraform_upload(checkout) == LAYOUT


def test_terraform_ships_the_config_config_file_names_and_no_neighbour(checkout: Path, terraform_upload) -> None:
    # config_file (RUNWARDEN_CONFIG) may name another file, in a folder: that file alone is shipped.
    for rel in ("config/prod.yaml", "config/staging.yaml", "config/credentials.json"):
        (checkout / rel).parent.mkdir(exist_ok=True)
        (checkout / rel).write_text("x")
    uploaded = terraform_upload(checkout, "config/prod.yaml")
    assert uploaded == LAYOUT - {"runwarden.yaml"} | {"config/prod.yaml"}


def test_the_working_tree_upload(terraform_upload) -> None:
    uploaded = gcloud_upload(ROOT)
    print("would upload:", *sorted(uploaded), sep="\n  ")
    for rel in uploaded:
        assert not any(rel.startswith(n) or f"/{n}" in f"/{rel}" for n in NEVER), f"{rel} would be uploaded"
        assert rel in DEPLOYED or rel.split("/")[0] in {"functions", "shared"}, f"{rel} would be uploaded"
    assert {"main.py", "requirements.txt"} <= uploaded
    assert any(r.startswith("shared/") for r in uploaded) and any(r.startswith("functions/") for r in uploaded)
    assert terraform_upload(ROOT) == uploaded
