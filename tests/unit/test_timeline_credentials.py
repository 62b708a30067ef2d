"""A credential read back from Cloud Logging never reaches a timeline's output, in any of its four forms: a step
line of an earlier version (whose reason redaction did not yet read as a credential), another writer's line under
Runwarden's labels, a quoted log line. Every word the timeline prints is typed `Said` (shared/timeline/model.py),
redacted as the timeline is made; words without a credential are printed as written. Pure: no I/O."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.timeline.model import (ActionRow, EvidenceRow, FollowUp, Milestone, Milestones, ReadReport, Source,
                                   TimelineEntry)
from shared.timeline.render import render
from tests.unit.test_timeline import T, _row, sample

# (where the words are, the words, the credential they carry)
HELD = [
    ("row", "rollback_traffic by alice: DATABASE_URL=postgres://app:s3cr3tPW99@10.0.0.5/db", "s3cr3tPW99"),
    ("row", "rollback_traffic by alice@example.com: INC-7 password: Tr0ub4dor&3", "Tr0ub4dor&3"),
    ("row", "escalated: GET /api/orders?access_token=ya29.a0AfH6SMBx9 answered 503", "ya29.a0AfH6SMBx9"),
    ("action", "scale_connector by bob: db-pass: tigerTIGER42", "tigerTIGER42"),
    ("follow_up", "No outcome follows the planned line (rollback by carol: PGPASSWORD=hunter2hunter2)",
     "hunter2hunter2"),
    ("note", "a line quoted: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"),
    ("milestone", "Runwarden applied: rollback_traffic by dave: api_key=AIzaSyA1234567890abcdefghijklmnop",
     "AIzaSyA1234567890abcdefghijklmnop"),
    ("diagnosis", "bad_revision: asyncpg connect('postgresql://svc:Pa55w0rd!x@/db?host=/cloudsql/p:r:i')",
     "Pa55w0rd!x"),
    ("evidence", "DB_PASSWORD=correct-horse-battery in the revision's env", "correct-horse-battery"),
    ("read", "cut short: ListLogEntries: 400 invalid filter near 'password=Zq9xLmW4'", "Zq9xLmW4"),
    # A requester of an earlier version, which did not redact requested_by as it read it: the row's actor, the
    # action's author and the people who acted.
    ("actor", "alice@example.com token=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
     "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
]

# Words a timeline prints every day, with no credential in them: kept as written.
PLAIN = [
    "rollback_traffic applied and verified",
    "traffic change to backend-00001-abc 100% of service backend (UpdateService)",
    "kill switch engaged by carol@example.com: deploy window",
    "password authentication failed for user \"app\" (SQLSTATE 28P01)",
    "claimed command:rb-7|projects/demo-project/locations/us-central1/services/backend|rollback_traffic",
]


def _timeline(where: str, words: str):
    row = _row(T + timedelta(minutes=5), Source.RUNWARDEN, "planned")
    at = T + timedelta(minutes=6)
    placed = {
        "row": lambda: sample(entries=[TimelineEntry.model_validate({**row.model_dump(), "summary": words})]),
        "action": lambda: sample(actions=[ActionRow(at=at, name="scale_connector", status="applied", summary=words)]),
        "follow_up": lambda: sample(follow_ups=[FollowUp(text=words)]),
        "note": lambda: sample(notes=[words]),
        "milestone": lambda: sample(milestones=Milestones(onset=Milestone(at=T, what="first"),
                                                          mitigation=Milestone(at=at, what=words, by="Runwarden"))),
        "diagnosis": lambda: sample(signature="bad_revision", diagnosis=words),
        "evidence": lambda: sample(evidence=[EvidenceRow(source="run", query="q", observed=words)]),
        # As the builder words a read cut short: by model_copy, which validates nothing.
        "read": lambda: sample(reads=[ReadReport(name="runwarden", filter="f", cut_short=True).model_copy(
            update={"why": words})]),
        "actor": lambda: sample(entries=[TimelineEntry.model_validate(
            {**row.model_dump(), "actor": {"kind": "person", "name": words}})], people=[words],
            actions=[ActionRow(at=at, name="rollback_traffic", status="applied", summary="s", by=words)]),
    }
    return placed[where]()


@pytest.mark.parametrize("where, words, credential", HELD, ids=[f"{w}-{i}" for i, (w, _, _) in enumerate(HELD)])
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_a_credential_in_what_was_read_is_never_printed(where, words, credential, fmt):
    out = render(_timeline(where, words), fmt)
    assert credential not in out, out


@pytest.mark.parametrize("where, words, credential", HELD, ids=[f"{w}-{i}" for i, (w, _, _) in enumerate(HELD)])
def test_the_words_are_kept_with_the_credential_redacted(where, words, credential):
    kept = _timeline(where, words).model_dump_json()
    assert credential not in kept and "[redacted credential]" in kept, kept


@pytest.mark.parametrize("words", PLAIN)
def test_words_without_a_credential_are_printed_as_written(words):
    out = render(_timeline("row", words), "json")
    assert "redacted" not in out
    assert render(_timeline("row", words), "text").count(words[:40]) == 1
