"""A log-based incident is not closed by its timeout while an action taken for it is still being verified.

Log-based policies never send CLOSED ("For log-based alert policies, the notification prompts is always
OPENED", AlertPolicy.AlertStrategy), so the sweep closes their incidents itself, after their action is
verified or after `verification.log_incident_timeout_seconds`. The timeout ran from the incident's
opening whatever its action's standing: with the timeout shorter than the verification deadline, or an
action written late in the incident (a proposal approved near the timeout, a write adopted from its
intent), the incident was `resolved` while its rollback was still pending, and the person heard
"resolved" before the action's own verdict (`escalated`: a log match's fix is never verified on clean
requests alone). Now the timeout waits for the verdict: `resolved` comes after it, once. In-process
parts (tests/property/fast.py) through the pipeline's own entry points."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from shared.remediation.records import ACTIONS, INCIDENTS
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR


def log_match(data: dict) -> dict:
    """The scenario's notification as a log-match policy's: no metric, a LogMatch condition."""
    body = json.loads(base64.b64decode(data["message"]["data"]))
    body["incident"]["metric"] = {"type": "", "labels": {}}
    body["incident"]["condition_name"] = "backend errors"    # Monitoring names the condition it carries
    body["incident"]["condition"] = {"name": "c", "displayName": "backend errors",
                                     "conditionMatchedLog": {"filter": 'resource.type="cloud_run_revision" '
                                                                       'severity>=ERROR'}}
    data["message"]["data"] = base64.b64encode(json.dumps(body).encode()).decode()
    return data


def swept_until(w: FastWorld, minutes: int) -> list[tuple[int, OutcomeStatus, str]]:
    """Every outcome of a sweep each 2 minutes from +4 to +`minutes`, with the minute it came at."""
    outcomes = []
    for minute in range(4, minutes + 1, 2):
        w.clock.set(ANCHOR + timedelta(minutes=minute))
        outcomes += [(minute, o.status, o.reason) for o in w.command({"command": "sweep"}, message_id=f"s{minute}")]
    return outcomes


def test_the_timeout_waits_for_the_pending_actions_verdict():
    w = FastWorld(seeded_copy("bad_revision", None), ANCHOR, verification={"log_incident_timeout_seconds": 600})
    applied = handle_alert(log_match(w.alert("bad_revision")), w.config, w.adapters)
    assert applied.status is OutcomeStatus.APPLIED, applied.reason
    assert w.state.get_record(INCIDENTS, applied.incident_id)["log_based"]

    outcomes = swept_until(w, 22)

    verdicts = [m for m, status, _ in outcomes if status in (OutcomeStatus.ESCALATED, OutcomeStatus.UNDONE,
                                                               OutcomeStatus.VERIFIED)]
    resolved = [(m, why) for m, status, why in outcomes if status is OutcomeStatus.RESOLVED]
    assert len(verdicts) == 1 and len(resolved) == 1, outcomes
    # Past the timeout (opened at +2, 10 minutes) the action was still pending: no `resolved` before its
    # verdict, and the one after it names that verdict.
    assert resolved[0][0] >= verdicts[0] > 12, outcomes
    assert "after timeout" in resolved[0][1] and "after the verdict on its action (escalated)" in resolved[0][1], resolved
    [record] = w.state.find_records(ACTIONS, "incident_id", applied.incident_id)
    assert record["state"] != "pending"


def test_the_timeout_closes_an_incident_with_no_action_as_before():
    """The control: nothing pending, the timeout closes it when it passes."""
    w = FastWorld(seeded_copy("healthy", None), ANCHOR, verification={"log_incident_timeout_seconds": 600})
    first = handle_alert(log_match(w.alert("healthy")), w.config, w.adapters)
    assert first.status is not OutcomeStatus.APPLIED, first.reason

    outcomes = swept_until(w, 14)

    assert [(m, status) for m, status, _ in outcomes] == [(12, OutcomeStatus.RESOLVED)], outcomes
