"""An older revision serving while a newer one exists (traffic moved back to it, a promotion or a rollback) whose
own requests read do not show when its traffic began: revisions are dated by creation, not by traffic, so "not
deployed shortly before the incident" was a guess. Now the Service's last-modified time (Service.update_time,
google/cloud/run/v2/service.proto) dates the move when it is older than the deploy window; else the answer says the
promotion's time is unknown."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import FIVE_XX_RATIO, Evidence
from tests.unit.test_diagnosis import quiet_connector

S = DiagnosisSettings()
OLD, NEWER = "backend-00007-old", "backend-00008-new"
UNKNOWN = "the promotion's time is unknown"
BEFORE = "its share dates from before the deploy window: the service has not changed since"


def _moved_back(newer: bool = True) -> Evidence:
    """OLD (created 5 h ago) at 100% and serving through every minute read; NEWER (created 3 h ago) at 0% when
    `newer`; from -6m a third of OLD's requests 500."""
    e = Evidence().revision(OLD, -300)
    if newer:
        e = e.revision(NEWER, -180)
    e = (e.traffic(**{OLD: 100}).requests(OLD, -200, 5, 40).latency(OLD, -200, 5, 0.2)
         .requests(OLD, -6, 5, 20, code="500"))
    return quiet_connector(e)


# (evidence, the service's update_time in minutes before now or None) -> words in the summary, words not in it
CASES = {
    "update_time not read: the time is unknown": (_moved_back(), None, UNKNOWN, BEFORE),
    "the service changed 20 minutes ago (any change): unknown": (_moved_back(), -20, UNKNOWN, BEFORE),
    "the service last changed 2 hours ago: dated before the window": (_moved_back(), -120, BEFORE, UNKNOWN),
    "no newer revision (control): neither": (_moved_back(newer=False), None, "was not deployed shortly before", UNKNOWN),
}


@pytest.mark.parametrize("evidence, changed, said, unsaid", CASES.values(), ids=CASES.keys())
def test_a_promotion_not_dated_is_said_to_be_unknown(evidence, changed, said, unsaid):
    bundle = evidence.bundle().model_copy(update={"alert": FIVE_XX_RATIO})
    if changed is not None:
        service = bundle.service.model_copy(update={"update_time": bundle.collected_at + timedelta(minutes=changed)})
        bundle = bundle.model_copy(update={"service": service})

    result = diagnose(bundle, S)

    assert result.signature is not Signature.BAD_REVISION, result.summary
    assert plan(result, bundle, S).action is None
    assert said in result.summary and unsaid not in result.summary, result.summary
    # NEWER at 0% may never have served (a --no-traffic deploy): that traffic moved back is never said as known.
    assert "traffic moved to it" not in result.summary, result.summary
