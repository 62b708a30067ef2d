"""A check that asks whether log lines came from one revision reads the revision's short name once, not once
per line (evidence.logged_by, all_logged_by: `Revision.short_name` splits the resource name at each read), and
answers as the plain per-line reading does."""
from __future__ import annotations

import random

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis import evidence
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import database_unreachable

from tests.unit.builders import at, deploy_failing

OLD, NEW = "backend-00001-abc", "backend-00002-def"
S = DiagnosisSettings()
REFUSED = 'FATAL: password authentication failed for user "app"'


def _line(revision: str | None) -> LogRecord:
    labels = {"service_name": "backend"} if revision is None else {"service_name": "backend", "revision_name": revision}
    return LogRecord(timestamp=at(0), log_id="run.googleapis.com/stderr", severity="ERROR",
                     resource_type="cloud_run_revision", resource_labels=labels, text="x")


@pytest.mark.parametrize("seed", range(20))
def test_the_lines_of_a_revision_are_the_plain_reading(seed):
    from shared.diagnosis.evidence import all_logged_by, logged_by

    rng = random.Random(seed)
    lines = [_line(rng.choice((OLD, NEW, "", None))) for _ in range(rng.randrange(0, 8))]
    for name in (OLD, NEW, ""):
        plain = [e for e in lines if e.resource_labels.get("revision_name") == name]
        assert logged_by(lines, name) == plain
        assert logged_by(iter(lines), name) == plain
        assert all_logged_by(lines, name) is all(e.resource_labels.get("revision_name") == name for e in lines)
        assert all_logged_by(iter(lines), name) is all_logged_by(lines, name)


def _counting(monkeypatch) -> list[str]:
    """The resource names `Revision.short_name` splits from now on."""
    read: list[str] = []
    plain = evidence.short_name

    def counted(name: str) -> str:
        read.append(name)
        return plain(name)

    monkeypatch.setattr(evidence, "short_name", counted)
    return read


@pytest.mark.parametrize("count", [3, 40])
@pytest.mark.parametrize("other", [False, True])
def test_refusals_from_the_new_revision_read_its_name_once(count, other, monkeypatch):
    e = deploy_failing(OLD, NEW, [(REFUSED, count)], old_settings={}, new_settings={})
    if other:
        e.log(-4, REFUSED, OLD)
    facts = Facts(e.bundle(), S)
    assert facts.recent_deploy() is not None
    lines = [x for x in facts.logs.app if x.text == REFUSED]
    read = _counting(monkeypatch)
    found = database_unreachable._only_from_the_new_revision(facts, {"refused": lines}, {"refused"})
    assert len(read) <= 1
    if other:
        assert found is None
    else:
        assert found is not None and found[0].short_name == NEW and found[2] == lines
