"""A tag-only revision (0% of the split, reached through its tag URL) deployed in the window before the incident,
failing while no revision holding a share changed, is named as the cause when the alert counts its requests: a
service's 5xx ratio on request_count over cloud_run_revision does (request_count is per revision, whichever URL sent
the request). Never with a rollback target: moving the split changes nothing its tag serves. When the alert does
not count them (another metric, another revision, a filter leaving it out, no notification read), or its failures
are not what crossed, it stays a clause of an inconclusive finding."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import FIVE_XX_RATIO, SQL, Evidence
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
OLD, NEW, OTHER = "backend-00001-abc", "backend-00002-xyz", "backend-00003-two"


def _tagged(*, created: float = -10, old_rate: float = 40, old_errors: float = 0, second: bool = False) -> Evidence:
    """OLD, hours old, holds 100% (`old_rate` a minute, `old_errors` of them 500); NEW, deployed at `created` with
    `--no-traffic --tag canary`, answers 6 of its 10 requests a minute 500 through its tagged URL (and, with
    `second`, OTHER tagged `preview` the same)."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, created, sql=(SQL,)).traffic(**{OLD: 100})
         .tag(NEW, "canary").requests(OLD, -90, 5, old_rate).latency(OLD, -90, 5, 0.2)
         .requests(NEW, created, 5, 4).requests(NEW, created, 5, 6, code="500").latency(NEW, created, 5, 0.2))
    if old_errors:
        e = e.requests(OLD, -10, 5, old_errors, code="500")
    if second:
        e = (e.revision(OTHER, -8, sql=(SQL,)).tag(OTHER, "preview").requests(OTHER, -8, 5, 4)
             .requests(OTHER, -8, 5, 6, code="500").latency(OTHER, -8, 5, 0.2))
    return quiet_connector(e)


def _alert(**update) -> AlertContext:
    return FIVE_XX_RATIO.model_copy(update=update)


# (case, evidence, alert, named)
CASES = [
    ("a 5xx ratio on request_count counts the tagged URL's requests: the tag-only deploy is named",
     _tagged(), FIVE_XX_RATIO, True),
    ("the notification names the tagged revision itself (a policy grouped by revision_name)",
     _tagged(), _alert(revision=NEW), True),
    ("the condition's filter selects the service only: the tagged revision counted",
     _tagged(), _alert(condition_filter='metric.type="run.googleapis.com/request_count" AND '
                                        'resource.labels.service_name="backend"'), True),
    ("the condition's filter selects the revision holding the split: its requests are not counted",
     _tagged(), _alert(condition_filter='metric.type="run.googleapis.com/request_count" AND '
                                        f'resource.labels.revision_name="{OLD}"'), False),
    ("the notification names the revision holding the split", _tagged(), _alert(revision=OLD), False),
    ("a latency alert: its 5xx are not what crossed",
     _tagged(), _alert(metric_type="run.googleapis.com/request_latencies"), False),
    ("a load balancer's 5xx: not request_count per revision",
     _tagged(), _alert(metric_type="loadbalancing.googleapis.com/https/request_count",
                       resource_type="https_lb_rule"), False),
    ("no notification read: what the alert counts is unknown", _tagged(), None, False),
    ("the revision holding the split fails too: not concentrated on the tagged one",
     _tagged(old_errors=20), FIVE_XX_RATIO, False),
    ("the tagged revision's 5xx are a few of a busy service's usual ones: not what crossed",
     _tagged(old_rate=4000, old_errors=20), FIVE_XX_RATIO, False),
    ("deployed 40 minutes before the incident, outside the deploy window",
     _tagged(created=-40), FIVE_XX_RATIO, False),
    ("two tag-only revisions failing: which crossed is not separated", _tagged(second=True), FIVE_XX_RATIO, False),
]


@pytest.mark.parametrize("case,evidence,alert,named", CASES, ids=[c[0] for c in CASES])
def test_a_tag_only_revision_is_named_only_when_the_alert_counts_its_failures(case, evidence, alert, named):
    bundle = evidence.bundle().model_copy(update={"alert": alert})

    result = diagnose(bundle, S)

    assert result.known_good_revision is None, result.known_good_revision
    assert plan(result, bundle, S).action is None
    if named:
        assert result.signature is Signature.BAD_REVISION, result.summary
        assert result.suspect_revision == NEW
        assert "holds no share of the split" in result.no_target_reason
        assert "--remove-tags canary" in result.recommendation
    else:
        # Not named; said as a clause when it fails in the alert's window (the busy service's case reads healthy
        # at the alert's own 5% bar: 0.6% 5xx).
        assert result.signature is not Signature.BAD_REVISION or result.suspect_revision != NEW, result.summary


def test_a_tag_only_revision_whose_failures_are_passed_on_from_another_service_is_not_named():
    # Before: named bad_revision (the tag-only path re-applied 4 of the newest's doubts, not this one); the same
    # revision holding a share is inconclusive (bad_revision._not_its_own, one list for every path).
    e = _tagged()
    for i in range(30):
        e.log(-10 + i / 3, ("requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
                            f"https://inventory-418273645012.us-central1.run.app/stock?sku=A-{i}"), revision=NEW)
    bundle = e.bundle().model_copy(update={"alert": FIVE_XX_RATIO})

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert "another Cloud Run service" in result.summary and "inventory-" in result.summary, result.summary
    assert plan(result, bundle, S).action is None
