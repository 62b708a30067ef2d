"""Every fact about a Google API is cited by a source a reader of Runwarden can open: a Google doc page, a
proto, a client library's docstring, a public issue. No tracked file outside tests/ may cite notes kept
outside the repository (their file names below), which nobody reading the code or the docs can follow.
Nor may one cite a file by a search index's internal number, which names no file either. Tests are left out:
this one names them."""
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


# A search index's internal number for a file ("code search id 4843607459", or "ids 22673739974, 11183613270"
# after one): it names no repository and no path, so no reader can open what it cites. Matched across the
# line breaks and string joins of a wrapped comment; the number a `code search` citation had, or the bare
# phrase closing one.
INDEX_NUMBER = re.compile(r"\bcode\W+search\W+ids?\W+\d|\bcode search\)|\bids?\s+\d{7,}\b", re.IGNORECASE)


def index_citations(text: str) -> list[int]:
    """The 1-based numbers of the lines of `text` where a citation by a search index's number starts."""
    return sorted({text.count("\n", 0, match.start()) + 1 for match in INDEX_NUMBER.finditer(text)})


@pytest.mark.parametrize("text, lines", [
    ("public tracebacks ending so (code search ids 60382089801, 21139959931)", [1]),
    ("# a DNS failure or the server's (code search ids\n#   73177607, 71180598472). The driver's", [1]),
    ('    "as clients log it (code search "\n    "ids 382102870, 27905811296); UNCONFIRMED"', [1]),
    ("ok\ncloud-sql-jdbc-socket-factory, code search id 36911904657)", [2]),
    ("without the address (ids 22673739974, 11183613270). Not the database's answer", [1]),
    ("the DISABLED form in a public incident note, code search).", [1]),
    ("pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java", []),
    ("public logs of it (their repositories and paths UNCONFIRMED)", []),
    ("Citations of public code in docs, comments and scenarios read `code search ids`, the Cloud", []),
    ("found by `make soak` (batch seed 3057685962); --param action_id=1234567890; incident id 42", []),
])
def test_index_citations_are_found(text, lines):
    assert index_citations(text) == lines


def test_no_tracked_file_cites_a_search_index_number():
    found = []
    for path in _tracked():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        found += [f"{path.relative_to(ROOT)}:{n}" for n in index_citations(text)]
    assert not found, ("cite the repository and path (and the symbol or string) a fact comes from, or say UNCONFIRMED, "
                       f"instead of a search index's number: {', '.join(found)}")
