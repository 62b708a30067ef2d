"""A log-based incident Runwarden closed itself, notified again, reaches a person.

Log-based policies never send CLOSED (AlertPolicy.AlertStrategy.notification_prompts), so the sweep closes
their incidents itself, after its action is verified or after `log_incident_timeout_seconds`. Monitoring keeps
the incident open until its autoClose, and a new notification of it says so: its entries matched again.
Before, that notification was answered `skipped` ("incident already closed at ... (timeout)"), as a CLOSED
that overtook an OPEN is, and nobody heard that the errors were back. Now it is escalated, naming when and
why Runwarden closed it; nothing is acted on again. A CLOSED from Monitoring still wins over a later
OPEN. In-process parts (tests/property/fast.py) through the pipeline's own entry points."""
from __future__ import annotations

from datetime import timedelta

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from shared.remediation.records import INCIDENTS
from shared.remediation.verification import sweep
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

SCENARIO = "logmatch_connector_dial_timeouts"


def world(scenario: str = SCENARIO) -> FastWorld:
    managed = [s["name"] for s in scenario_model(scenario).config.get("services", [])]
    return FastWorld(seeded_copy(scenario, None), ANCHOR, **({"services": managed} if managed else {}))


def test_a_log_incident_closed_by_its_timeout_and_notified_again_is_escalated():
    w = world()
    first = handle_alert(w.alert(SCENARIO, message_id="1"), w.config, w.adapters)
    assert w.state.get_record(INCIDENTS, first.incident_id)["log_based"], first.reason
    w.clock.set(w.clock.now() + timedelta(seconds=w.config.verification.log_incident_timeout_seconds + 60))
    swept = sweep(w.config, w.adapters)
    assert any(o.status is OutcomeStatus.RESOLVED and o.incident_id == first.incident_id for o in swept)
    writes = w.standins.run.count("UpdateService") + w.standins.vpcaccess.count("PatchConnector")

    again = handle_alert(w.alert(SCENARIO, message_id="2"), w.config, w.adapters)

    assert again.status is OutcomeStatus.ESCALATED, again.reason
    assert f"log-based incident {first.incident_id} was notified again after Runwarden closed it" in again.reason
    assert "its timeout passed" in again.reason and "Monitoring holds it open" in again.reason, again.reason
    assert w.standins.run.count("UpdateService") + w.standins.vpcaccess.count("PatchConnector") == writes


def test_an_open_after_monitorings_own_closed_is_still_skipped():
    """The control: Monitoring's CLOSED wins over a later (reordered) OPEN of the same incident."""
    w = world("bad_revision")
    handle_alert(w.alert("bad_revision", message_id="1"), w.config, w.adapters)
    handle_alert(w.alert("bad_revision", message_id="c", state="closed"), w.config, w.adapters)
    late = handle_alert(w.alert("bad_revision", message_id="2"), w.config, w.adapters)
    assert late.status is OutcomeStatus.SKIPPED and "already closed" in late.reason, late.reason
