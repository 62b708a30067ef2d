"""bad_revision's rollback target must not be failing since the deploy: clean before it says how it
served then. A deploy that migrated a schema under the old code, a dependency both revisions share
failing since, fail its own requests after the deploy too (the seconds before the traffic switch,
the 10% a split still gives it), however few; sending it everything brings the failure back."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
SCHEMA = ('django.db.utils.ProgrammingError: column orders_order.address does not exist LINE 1: ...ELECT '
          '"orders_order"."id", "orders_order"."address"')
SIGTERM = "npm ERR! signal SIGTERM"


def _deployed(since: list[tuple[float, float, float, str]], logs: int = 0, log_text: str = SCHEMA) -> Evidence:
    """OLD served 40 clean requests a minute until NEW took the traffic at -10 (60% 500); `since`
    adds OLD's own requests after the deploy, (start, end, per minute, code); `logs` of OLD's own
    ERROR lines at -9."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="500")
         .latency(OLD, -90, -10, 0.2).latency(NEW, -10, 5, 0.4))
    for start, end, per_minute, code in since:
        e.requests(OLD, start, end, per_minute, code=code)
    if logs:
        e.log(-9, log_text, revision=OLD, count=logs)
    return quiet_connector(e)


# (what the rollback target did since the deploy, its requests, its ERROR lines, the target expected)
ROWS = [
    # The seconds between a migration at the new revision's start and the traffic switch: 14 requests,
    # 5 of them 500 against the renamed column (too few for the other-revisions check's 20).
    ("schema migrated under it", [(-10, -9, 9, "200"), (-10, -9, 5, "500")], 5, None),
    # A 90/10 split: its 10% fails like the new revision's 90% (a shared dependency), 9 of 18 since.
    ("its 10% fails too", [(-10, -1, 1, "200"), (-10, -1, 1, "502")], 0, None),
    # Exactly the bar (TARGET_FAILED_MIN): 3 failed of 12.
    ("three failed of twelve", [(-10, -9, 9, "200"), (-10, -9, 3, "500")], 0, None),
    # Below the bar: one 500 among a few requests is any service's noise.
    ("one 500 of six", [(-10, -9, 5, "200"), (-10, -9, 1, "500")], 0, OLD),
    ("two 500s of two", [(-10, -9, 2, "500")], 0, OLD),
    # Nothing since the switch: a clean 100% deploy.
    ("no request since the deploy", [], 0, OLD),
    # Its last requests clean.
    ("clean since the deploy", [(-10, -9, 15, "200")], 0, OLD),
    # An application's own 429s (rate limiting) are answers, not failures (_failed_share).
    ("its own 429s", [(-10, -9, 9, "200"), (-10, -9, 4, "429")], 0, OLD),
    # ERROR lines alone, no failed request: an instance stopped at scale-in may log at ERROR (npm).
    ("ERROR lines at scale-in, no failed request", [(-10, -9, 10, "200")], 6, OLD),
]


@pytest.mark.parametrize("why,since,logs,expected", ROWS, ids=[r[0] for r in ROWS])
def test_the_rollback_target_is_judged_on_its_own_requests_since_the_deploy(why, since, logs, expected):
    e = _deployed(since, logs, SIGTERM if "scale-in" in why else SCHEMA)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION and result.suspect_revision == NEW, result.summary
    assert result.known_good_revision == expected, result.summary
    action = plan(result, e.bundle(), S).action
    assert action == ("rollback_traffic" if expected else None)
    if expected is None:
        assert OLD in result.no_target_reason and "since" in result.no_target_reason
        assert "deploy" in result.no_target_reason


def test_the_reason_quotes_the_targets_own_failure_line_since_the_deploy():
    e = _deployed([(-10, -9, 9, "200"), (-10, -9, 5, "500")], logs=5)

    result = diagnose(e.bundle(), S)

    assert "column orders_order.address does not exist" in result.no_target_reason
    cited = [i for i in result.evidence if "since" in i.observed and OLD in i.observed and i.passed is False]
    assert cited, [i.observed for i in result.evidence]

