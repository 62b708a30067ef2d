"""An OPEN that started after its incident's CLOSED ended reaches a person; a late OPEN stays dropped.

Every notification of one incident carries its one `started_at`, and an incident ends after it starts
(Cloud Monitoring's schema 1.2 example; the samples in tests/fixtures/samples). Pub/Sub does not order
messages: an OPEN the CLOSED overtook starts before the CLOSED's `ended_at`, and is dropped as closed. Before,
any OPEN under a closed incident's id was dropped the same way (`skipped`, "incident already closed"), also
one that started after the close: an incident opened again under the same id (a relay that reuses ids;
whether Monitoring ever reopens an incident under its id is unconfirmed), a failure that came back,
which reached nobody. Now the incident's record keeps the CLOSED's own end, and such an OPEN is
`escalated`, nothing diagnosed or written. In-process parts (tests/property/fast.py) through the
pipeline's own entry point; on the emulators: tests/integration/test_alert_orderings.py."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from shared.remediation.records import INCIDENTS
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

START = int(ANCHOR.timestamp())   # the scenario's incident starts at the anchor; the world's clock is 2 min on


def world() -> FastWorld:
    return FastWorld(seeded_copy("bad_revision", None), ANCHOR)


def notification(**incident: Any) -> dict[str, Any]:
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    document["incident"].update(incident)
    return document


def closing(ended_at: Any) -> dict[str, Any]:
    return notification(state="closed", ended_at=ended_at, observed_value="0.001")


def handle(w: FastWorld, document: dict[str, Any], message_id: str):
    return handle_alert(event(json.dumps(document).encode(), message_id), w.config, w.adapters)


def writes(w: FastWorld) -> int:
    return w.standins.run.count("UpdateService") + w.standins.vpcaccess.count("PatchConnector")


@pytest.mark.parametrize("closed_end, opened_at, status", [
    (START + 60, START, OutcomeStatus.SKIPPED),            # the OPEN the CLOSED overtook: the incident's own start
    (START + 60, START + 59, OutcomeStatus.SKIPPED),       # started before the end: a late OPEN, as Monitoring's clock has it
    (START + 60, START + 60, OutcomeStatus.SKIPPED),       # at the end itself: not after it
    (START + 60, START + 90, OutcomeStatus.ESCALATED),     # started after the end: opened again under the same id
    (START - 60, START, OutcomeStatus.SKIPPED),            # a CLOSED that ended before it started: no end measured
    (START - 60, START + 90, OutcomeStatus.SKIPPED),       # ... so nothing is after it either
    (None, START + 90, OutcomeStatus.SKIPPED),             # a CLOSED without its end (a relay's): unknown, as before
], ids=["same-start", "before-end", "at-end", "after-end", "closed-before-start", "closed-before-start-later",
        "closed-without-end"])
def test_an_open_under_a_closed_id_is_dropped_only_when_it_can_be_the_closed_incidents(closed_end, opened_at, status):
    w = world()
    # Alone, the CLOSED reaches a person: no OPEN of the incident reached Runwarden before it.
    assert handle(w, closing(closed_end), "c-1").status is OutcomeStatus.ESCALATED
    outcome = handle(w, notification(started_at=opened_at), "o-1")
    assert outcome.status is status, outcome.reason
    assert writes(w) == 0
    if status is OutcomeStatus.SKIPPED:
        assert "incident already closed" in outcome.reason, outcome.reason


def test_the_reason_names_the_close_the_new_start_and_what_to_run():
    w = world()
    handle(w, closing(START + 60), "c-1")
    outcome = handle(w, notification(started_at=START + 90), "o-1")
    assert outcome.status is OutcomeStatus.ESCALATED
    for words in ("Monitoring's CLOSED ended it at 2026-11-26T12:01:00Z",
                  "started at 2026-11-26T12:01:30Z, after that end",
                  "an incident opened again under the same id",
                  "runwarden command diagnose --target projects/demo-project/locations/us-central1/services/backend",
                  "Policy 'backend 5xx ratio'"):
        assert words in outcome.reason, outcome.reason


def test_after_an_action_its_incident_opened_again_reaches_a_person_and_nothing_is_written_again():
    """Open (rolled back), closed, opened again under the same id: the rollback stands, a person hears."""
    w = world()
    assert handle(w, notification(), "o-1").status is OutcomeStatus.APPLIED
    assert handle(w, closing(START + 60), "c-1").status is OutcomeStatus.RESOLVED
    late = handle(w, notification(), "o-1b")                     # the first OPEN, re-sent or redelivered
    again = handle(w, notification(started_at=START + 90), "o-2")
    assert late.status is OutcomeStatus.SKIPPED, late.reason
    assert again.status is OutcomeStatus.ESCALATED, again.reason
    assert writes(w) == 1


def test_the_incident_record_keeps_the_closeds_own_end():
    w = world()
    handle(w, closing(START + 60), "c-1")
    assert w.state.get_record(INCIDENTS, "0.gyctw2q67osg")["ended_at"] == START + 60
