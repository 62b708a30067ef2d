"""Which revisions collection reads a rollback's evidence for, chosen as diagnosis chooses them
(collection.promoted_suspect, rollback_candidates): a revision created hours before and promoted in the deploy
window is the suspect as Facts.promotion dates it, and its candidates are the Ready revisions created before
that minute, newest first, itself left out; one not dated, or a fresh deploy, is chosen by create_time as
before. Pure: evidence built in memory, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import promoted_suspect, rollback_candidates, target_secret_reads
from shared.diagnosis.evidence import SecretRef

from tests.unit.builders import at
from tests.unit.test_bad_revision_promotion import BLUE, GREEN, _promoted

S = DiagnosisSettings()
PREVIEW = "backend-00003-pre"


def _chosen(evidence):
    bundle = evidence.bundle()
    found = {"requests": bundle.requests, "latencies": bundle.latencies}
    known = (bundle.service, bundle.revisions)
    promoted = promoted_suspect(known, found, bundle.incident_started_at, S, bundle.collected_at, bundle.judged_since)
    candidates = rollback_candidates(bundle.service, bundle.revisions, bundle.incident_started_at, S,
                                     promoted=promoted)
    return promoted, [r.short_name for r in candidates]


# (case, evidence, the suspect's promotion minute or None, the candidates)
CASES = [
    ("blue/green: created 5 h before, promoted at -9m", _promoted(GREEN, -300, BLUE, -2880, -9), -9, [BLUE]),
    ("promoted at -18m, 12 quiet minutes read", _promoted(GREEN, -300, BLUE, -2880, -18), -18, [BLUE]),
    ("a manual rollback to the older revision at -9m: the newer one it left, created before that, is its candidate",
     _promoted(BLUE, -2880, GREEN, -300, -9), -9, [GREEN]),
    ("a `--no-traffic` preview created after the promotion is no candidate",
     _promoted(GREEN, -300, BLUE, -2880, -9).revision(PREVIEW, -5), -9, [BLUE]),
    ("a preview created between the two is one (the known-good search passes over it without requests)",
     _promoted(GREEN, -300, BLUE, -2880, -9).revision(PREVIEW, -60), -9, [PREVIEW, BLUE]),
    ("promoted at -24m: the counts reach back to the deploy window's start less ten minutes, dated",
     _promoted(GREEN, -300, BLUE, -2880, -24), -24, [BLUE]),
    ("promoted at -35m, before the deploy window: not dated, no candidate",
     _promoted(GREEN, -300, BLUE, -2880, -35), None, []),
    ("a tester's requests before: not dated, no candidate",
     _promoted(GREEN, -300, BLUE, -2880, -9, promoted_before=(-20, -15)), None, []),
]


@pytest.mark.parametrize("case,evidence,minute,candidates", CASES, ids=[c[0] for c in CASES])
def test_a_promoted_suspects_candidates_are_chosen_as_diagnosis_chooses_them(case, evidence, minute, candidates):
    promoted, chosen = _chosen(evidence)

    assert (promoted.create_time if promoted is not None else None) == (at(minute) if minute is not None else None)
    assert chosen == candidates


def test_a_fresh_deploy_is_chosen_by_its_create_time_and_not_dated_again():
    evidence = _promoted(GREEN, -7, BLUE, -2880, -7)

    promoted, chosen = _chosen(evidence)

    bundle = evidence.bundle()
    assert promoted is None
    assert [r.short_name for r in rollback_candidates(bundle.service, bundle.revisions, bundle.incident_started_at,
                                                      S)] == [BLUE]


def test_a_promoted_suspects_candidates_secret_versions_are_planned():
    evidence = _promoted(GREEN, -300, BLUE, -2880, -9)
    evidence.revs = [r.model_copy(update={"secrets": (SecretRef(env="DB_PASSWORD", secret="db", version="6"),)})
                     if r.name.endswith(BLUE) else r for r in evidence.revs]
    bundle = evidence.bundle()
    promoted, _ = _chosen(evidence)

    planned = target_secret_reads(bundle.service, bundle.revisions, bundle.incident_started_at, S, promoted=promoted)

    assert [(r.revision, r.secret, r.version) for r in planned] == [(BLUE, "db", "6")]
    assert target_secret_reads(bundle.service, bundle.revisions, bundle.incident_started_at, S) == []


@pytest.mark.parametrize("used,kept_back,read", [
    (14, 1, True),    # the second round: one call left for the third read after it
    (15, 1, False),   # ... none left beside it
    (15, 0, True),    # the last round, no startup read to come: the one call left is the connections'
    (16, 0, False),   # ... none left at all
])
def test_the_connections_keep_back_a_call_only_for_a_read_still_to_come(used, kept_back, read):
    """A promoted suspect's connections are read in the last round: after the log read again (which took the
    third read's call), a call is kept back only for the candidates' startups still to come, so the same release
    as a promotion reads what it would as a fresh deploy."""
    from shared.diagnosis.collection import CallBudget, _sql_connections_wanted
    bundle = _promoted(GREEN, -300, BLUE, -2880, -9).bundle()
    promoted = promoted_suspect((bundle.service, bundle.revisions), {"requests": bundle.requests,
                                "latencies": bundle.latencies}, bundle.incident_started_at, S, bundle.collected_at,
                                bundle.judged_since)
    budget = CallBudget(16)
    budget.used = used

    assert _sql_connections_wanted(bundle.service, bundle.revisions, bundle.incident_started_at, S, budget,
                                   promoted=promoted, kept_back=kept_back) is read
