"""The pipeline on a per-revision 5xx alert that names the revision a rollback would go to
(tests/fixtures/notifications/run_5xx_ratio_by_revision_named_not_serving_open.json, in the bad_revision
world: backend-00002-xyz fails, backend-00001-abc served cleanly until it and serves nothing now). Before,
the alert about backend-00001-abc sent all of the service's traffic to backend-00001-abc (`applied`). Now
it is escalated, nothing written, the reason naming the revision the alert is about. The same alert on
backend-00002-xyz is rolled back as before. In-process parts (tests/property/fast.py) through the
pipeline's own entry point."""
from __future__ import annotations

import json
from pathlib import Path

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR

SAMPLE = (Path(__file__).resolve().parents[1] / "fixtures" / "notifications"
          / "run_5xx_ratio_by_revision_named_not_serving_open.json")


def _notification(revision: str) -> dict:
    document = json.loads(SAMPLE.read_text())
    document["incident"]["started_at"] = int(ANCHOR.timestamp())
    document["incident"]["resource"]["labels"]["revision_name"] = revision
    return document


def _handle(revision: str):
    w = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    outcome = handle_alert(event(json.dumps(_notification(revision)).encode(), "n-1"), w.config, w.adapters)
    return outcome, w.standins.run.count("UpdateService")


def test_an_alert_on_the_revision_a_rollback_would_go_to_is_escalated_and_nothing_is_written():
    outcome, writes = _handle("backend-00001-abc")
    assert outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert writes == 0
    assert outcome.diagnosis.signature == "bad_revision"
    assert ("the alert names revision backend-00001-abc (resource.labels.revision_name), which no longer serves"
            in outcome.reason), outcome.reason


def test_the_same_alert_on_the_failing_revision_is_rolled_back():
    outcome, writes = _handle("backend-00002-xyz")
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reason
    assert writes == 1
