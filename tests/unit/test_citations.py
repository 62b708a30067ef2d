"""Every fact about a Google API is cited by a source a reader of Runwarden can open: a Google doc page, a
proto, a client library's docstring, a public issue. No tracked file outside tests/ may cite notes kept
outside the repository (their file names below), which nobody reading the code or the docs can follow.
Tests are left out: this one names them."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Notes that lived beside the repository, never in it: a citation of one points nowhere.
OUTSIDE = re.compile(r"gcp-facts|field-lessons|local-servers\.md", re.IGNORECASE)


def outside_citations(text: str) -> list[int]:
    """The 1-based numbers of the lines of `text` that cite a note kept outside the repository."""
    return [number for number, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]


@pytest.mark.parametrize("text, lines", [
    ("# visible up to 180 s later (gcp-facts.md §4)", [1]),
    ("ok\nsee GCP-FACTS §9\nfine", [2]),
    ("a lesson (field-lessons #3)", [1]),
    ("how the stand-ins fail: local-servers.md", [1]),
    ("docs.cloud.google.com/run/docs/troubleshooting; google/cloud/run/v2/service.proto", []),
    ("docs/api-contracts.md, tests/fixtures/samples", []),
])
def test_outside_citations_are_found(text, lines):
    assert outside_citations(text) == lines


# Trees a source tree holds that are not the project's own files: environments, caches, build output.
_NOT_OURS = {".git", ".venv", ".venv-checkov", "build", "node_modules", "__pycache__", ".terraform"}


def _tracked() -> list[Path]:
    """The repository's tracked files outside tests/ (git's own list: nothing untracked or ignored); in a
    tree that is not a git checkout (an archive of it), every file outside tests/ and the trees above."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode == 0:
        return [ROOT / name for name in listed.stdout.decode().split("\0")
                if name and not name.startswith("tests/")]
    return [path for path in ROOT.rglob("*") if path.is_file()
            and not _NOT_OURS.intersection(path.relative_to(ROOT).parts)
            and path.relative_to(ROOT).parts[0] != "tests"]


def test_no_tracked_file_cites_notes_outside_the_repository():
    found = []
    for path in _tracked():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue   # binary, or deleted in the work tree and not yet committed
        found += [f"{path.relative_to(ROOT)}:{n}" for n in outside_citations(text)]
    assert not found, ("cite the primary source (a Google doc page, a proto, a client library docstring, an issue) "
                       f"instead of notes outside the repository: {', '.join(found)}")
