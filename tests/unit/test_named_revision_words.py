"""What an escalation says of the revision the alert names and of the ones serving (pure: builders' evidence, no I/O).

A log-match alert whose entry was the old revision's (resource.labels.revision_name), the new one deployed in the
newest minutes and failing: the minutes read end where the old revision's series stopped (Facts.read_until: a series
ending inside the ingest lag may still be arriving), so every request of the new revision is in the minutes after
them. Before, the escalation said "too little traffic on backend-00002-xyz to judge (0 requests)" while it served 45
a minute, and nothing said that the alert's revision serves 0%. The verdict is unchanged (inconclusive, nothing
planned); the words say what is true."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import AlertContext

from tests.unit.builders import SQL, Evidence, held
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
LOG_5XX = ('resource.type="cloud_run_revision" AND resource.labels.service_name="backend" AND '
           'log_id("run.googleapis.com/requests") AND httpRequest.status>=500')


def _log_match(revision: str) -> AlertContext:
    return AlertContext(resource_type="cloud_run_revision", condition_kind="log_match", log_filter=LOG_5XX,
                        revision=revision)


def _deployed_in_the_newest_minutes(deploy: float, ok: float = 18, failed: float = 27) -> Evidence:
    """OLD serves 40 a minute cleanly up to `deploy`, where NEW takes 100% and answers `ok` 200s and `failed` 500s a
    minute; read at +2 with no lag allowed (the newest minutes not whole yet)."""
    e = (Evidence(now=2, read_after=0).revision(OLD, -180, sql=(SQL,)).revision(NEW, deploy, sql=(SQL,))
         .traffic(**{NEW: 100}).requests(OLD, -90, deploy, 40).latency(OLD, -20, deploy, 0.2)
         .requests(NEW, deploy, 2, ok).requests(NEW, deploy, 2, failed, code="500").latency(NEW, deploy, 2, 0.3))
    return quiet_connector(e)


# situation -> (evidence, the alert's revision, words the summary must hold, words it must not)
WORDS = {
    "a log match on the old revision's entry, the new one deployed at -1 failing: its requests are unread, "
    "not too few": (lambda: _deployed_in_the_newest_minutes(-1), OLD,
                    (f"{NEW}'s requests since its deploy (11:59:00) are in minutes not read yet: 0 up to 11:59:00",
                     "and 135 after them up to 12:02:00 (81 5xx or 429), not whole yet",
                     f"the alert names {OLD} (resource.labels.revision_name), which serves 0% in the traffic statuses "
                     f"(its newest request read in the minute to 11:59:00); serving: {NEW} 100%"),
                    (f"too little traffic on {NEW}",)),
    "the same alert on the new revision: the split is not said of it": (
        lambda: _deployed_in_the_newest_minutes(-1), NEW,
        (f"{NEW}'s requests since its deploy (11:59:00) are in minutes not read yet",),
        ("which serves 0% in the traffic statuses", f"too little traffic on {NEW}")),
    "control: a new revision with a trickle in the unread minutes too is still too little traffic": (
        lambda: _deployed_in_the_newest_minutes(-1, ok=2, failed=1), OLD,
        (f"too little traffic on {NEW} to judge (0 requests)",), ("minutes not read yet: 0",)),
}


@pytest.mark.parametrize("name", WORDS)
def test_an_escalation_says_which_revision_served_what(name):
    build, revision, said, unsaid = WORDS[name]
    diagnosis = held(build().bundle().model_copy(update={"alert": _log_match(revision)}), S)
    for words in said:
        assert words in diagnosis.summary, diagnosis.summary
    for words in unsaid:
        assert words not in diagnosis.summary, diagnosis.summary
