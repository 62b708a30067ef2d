"""bad_revision dates a deploy by when traffic reached the revision, not only by its create_time: a
revision deployed with `--no-traffic` hours before and promoted in the deploy window (or an older one
sent the traffic back by hand) is judged as deployed at its first request, after minutes the service
served without it (Facts.promotion). Its rollback target is the revision that carried the traffic
before the promotion, and only when that one served cleanly; a promotion the request series cannot
date is escalated, never acted on."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings, parse_config
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.signatures import Signature
from shared.remediation.actions.rollback_traffic import RollbackTraffic
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence, at
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
BLUE, GREEN = "backend-00001-blu", "backend-00002-grn"


def _promoted(promoted: str, created: float, before: str, before_created: float, at_minute: float,
              *, failing_from: float | None = None, before_5xx_from: float | None = None,
              promoted_before: tuple[float, float] | None = None) -> Evidence:
    """`before` carries 40 requests a minute until `at_minute`; `promoted` carries them from then,
    60% 500 from `failing_from` (its promotion by default). `before_5xx_from`: `before` answers half
    with 500 from then; `promoted_before`: (start, end) minutes in which `promoted` served 2 a minute
    before its promotion (a tester on its tagged URL)."""
    failing_from = at_minute if failing_from is None else failing_from
    e = (Evidence().revision(before, before_created, sql=(SQL,)).revision(promoted, created, sql=(SQL,))
         .traffic(**{promoted: 100}).latency(before, -90, at_minute, 0.2).latency(promoted, at_minute, 5, 0.2))
    if before_5xx_from is None:
        e = e.requests(before, -90, at_minute, 40)
    else:
        e = (e.requests(before, -90, before_5xx_from, 40).requests(before, before_5xx_from, at_minute, 20)
             .requests(before, before_5xx_from, at_minute, 20, code="500"))
    e = e.requests(promoted, at_minute, failing_from, 40)
    e = e.requests(promoted, failing_from, 5, 16).requests(promoted, failing_from, 5, 24, code="500")
    if promoted_before is not None:
        e = e.requests(promoted, *promoted_before, 2)
    return quiet_connector(e)


# (case, evidence, signature, rollback target or None, words in the summary)
CASES = [
    ("blue/green: created 5 h before, promoted at -9m, fails from its first minute",
     _promoted(GREEN, -300, BLUE, -2880, -9), Signature.BAD_REVISION, BLUE, "promoted at"),
    ("promoted just inside the deploy window's reach, 12 quiet minutes read",
     _promoted(GREEN, -300, BLUE, -2880, -18), Signature.BAD_REVISION, BLUE, "promoted at"),
    ("a manual rollback: the older revision sent everything back at -9m fails since; sending the traffic "
     "forward again would undo that move: escalated",
     _promoted(BLUE, -2880, GREEN, -300, -9), Signature.INCONCLUSIVE, None, "would send it forward again"),
    # The failures came first (from -22m, on the revision the promotion replaced): the promotion is a doubt, not
    # their cause (bad_revision._began_before_its_deploy; before, bad_revision with no target, "failing too").
    ("the revision that carried the traffic before was failing from -22m: the promotion is not their cause",
     _promoted(GREEN, -300, BLUE, -2880, -9, before_5xx_from=-22), Signature.INCONCLUSIVE, None,
     "the failures began at"),
    ("promoted 24 minutes before: the counts read reach its quiet minutes (the deploy window's start less ten)",
     _promoted(GREEN, -300, BLUE, -2880, -24), Signature.BAD_REVISION, BLUE, "promoted at"),
    ("promoted 29 minutes before, just inside the deploy window", _promoted(GREEN, -300, BLUE, -2880, -29),
     Signature.BAD_REVISION, BLUE, "promoted at"),
    ("promoted 35 minutes before, past the deploy window: no deploy",
     _promoted(GREEN, -300, BLUE, -2880, -35), Signature.INCONCLUSIVE, None, "was not deployed shortly before"),
    ("it served a tester's requests before: its first request is not the promotion",
     _promoted(GREEN, -300, BLUE, -2880, -9, promoted_before=(-20, -15)), Signature.INCONCLUSIVE, None,
     "is not dated"),
    ("a canary's share first: its first minute carries a tenth of the load, not the promotion",
     _promoted(GREEN, -300, BLUE, -2880, -9, promoted_before=(-18, -9)), Signature.INCONCLUSIVE, None,
     "is not dated"),
    ("promoted, clean for 7 minutes, then failing: not shown to be the promotion",
     _promoted(GREEN, -300, BLUE, -2880, -16, failing_from=-9), Signature.INCONCLUSIVE, None,
     "did not begin with the deploy"),
]


@pytest.mark.parametrize("case,evidence,signature,target,words", CASES, ids=[c[0] for c in CASES])
def test_a_promotion_is_judged_as_the_deploy(case, evidence, signature, target, words):
    bundle = evidence.bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert result.known_good_revision == target, result.summary
    assert words in result.summary
    planned = plan(result, bundle, S)
    assert planned.action == ("rollback_traffic" if target else None), planned.reason


def test_the_summary_says_when_it_was_promoted_and_when_created():
    result = diagnose(_promoted(GREEN, -300, BLUE, -2880, -9).bundle(), S)

    promoted, created = at(-9).strftime("%H:%M:%S"), at(-300).strftime("%H:%M:%S")
    assert f"fails since it was promoted at {promoted}" in result.summary
    assert f"(created {created})" in result.summary
    assert "since its deploy" not in result.summary


def test_the_rollback_of_a_promotion_is_bounded_from_the_promotion():
    bundle = _promoted(GREEN, -300, BLUE, -2880, -9).bundle()
    result = diagnose(bundle, S)
    params = plan(result, bundle, S).params
    config = parse_config({"project": "demo", "outcomes_topic": "projects/demo/topics/runwarden-outcomes",
                           "mode": "enforce"})

    assert params.from_revision_promoted_at == at(-9)
    assert _age_violations(params, config) == []
    # Created five hours ago: the same rollback dated by its creation would be out of bounds.
    undated = params.model_copy(update={"from_revision_promoted_at": None})
    assert [v for v in _age_violations(undated, config) if "was created" in v]


def _age_violations(params, config) -> list[str]:
    """The rollback's bounds violations at +2m but for the service (this config manages none)."""
    return [v for v in RollbackTraffic().bounds_violations(params, config, at(2)) if "not a managed service" not in v]


def test_facts_date_a_promotion_by_the_first_request_after_quiet_minutes():
    facts = Facts(_promoted(GREEN, -300, BLUE, -2880, -9).bundle(), S)
    revision = facts.newest_serving

    promoted = facts.promotion(revision)

    assert promoted is not None and promoted.revision.create_time == at(-9)
    assert promoted.created == at(-300)
    assert facts.deployed(revision).create_time == at(-9)
    assert facts.recent_deploy()[1].short_name == BLUE


@pytest.mark.parametrize("created,promoted", [(-20, None), (-300, None)])
def test_facts_leave_a_revision_created_in_the_window_or_serving_all_along_undated(created, promoted):
    e = quiet_connector(Evidence().revision(BLUE, -2880).revision(GREEN, created).traffic(**{GREEN: 100})
                        .requests(BLUE, -90, created, 40).requests(GREEN, max(created, -90), 5, 40))
    facts = Facts(e.bundle(), S)

    assert facts.promotion(facts.newest_serving) is promoted


# A promotion older than the default window, with the window set wider: the same bound reads further back.
WIDE = S.model_copy(update={"deploy_window_seconds": 3600, "manual_change_window_seconds": 3600})
EARLIER = [
    ("promoted 40 minutes before, a deploy window of an hour", _promoted(GREEN, -300, BLUE, -2880, -40),
     Signature.BAD_REVISION, BLUE, "promoted at"),
    ("promoted 58 minutes before, a deploy window of an hour", _promoted(GREEN, -300, BLUE, -2880, -58),
     Signature.BAD_REVISION, BLUE, "promoted at"),
    ("promoted 65 minutes before, past a deploy window of an hour", _promoted(GREEN, -300, BLUE, -2880, -65),
     Signature.INCONCLUSIVE, None, "was not deployed shortly before"),
    ("promoted 40 minutes before after a canary's share: not dated",
     _promoted(GREEN, -300, BLUE, -2880, -40, promoted_before=(-60, -40)), Signature.INCONCLUSIVE, None,
     "is not dated"),
]


@pytest.mark.parametrize("case,evidence,signature,target,words", EARLIER, ids=[c[0] for c in EARLIER])
def test_a_promotion_is_dated_as_far_back_as_the_deploy_window(case, evidence, signature, target, words):
    bundle = evidence.bundle()

    result = diagnose(bundle, WIDE)

    assert (result.signature, result.known_good_revision) == (signature, target), result.summary
    assert words in result.summary, result.summary
    assert plan(result, bundle, WIDE).action == ("rollback_traffic" if target else None)
