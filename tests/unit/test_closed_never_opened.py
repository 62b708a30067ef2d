"""A CLOSED of an incident whose OPEN never reached Runwarden reaches a person; a late OPEN stays dropped.

The OPEN may have been dropped, dead-lettered, sent before Runwarden was deployed or to another channel,
or be still on its way (Pub/Sub does not order messages). Before, such a CLOSED was answered `resolved`
("incident closed; recorded, no action taken"), like any other: nobody heard that an incident on a managed
target opened and closed with nothing diagnosed. Now every OPEN Runwarden reads for a target it handles
leaves the incident's record (IncidentRecord, state `seen`; created beside its evidence reads), and a CLOSED that finds neither that record nor
an action of the incident is `escalated`, naming the incident's start, end and policy and that nothing was
done; it is still recorded closed, so the OPEN, delivered late, is never acted on. In-process parts
(tests/property/fast.py) through the pipeline's own entry point."""
from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

import pytest

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from shared.remediation.records import INCIDENTS
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

START = int(ANCHOR.timestamp())


def world(scenario: str = "bad_revision", mode: str = "enforce") -> FastWorld:
    return FastWorld(seeded_copy(scenario, None), ANCHOR, mode=mode)


def notification(scenario: str = "bad_revision", **incident: Any) -> dict[str, Any]:
    document = copy.deepcopy(scenario_model(scenario).notification(ANCHOR))
    document["incident"].update(incident)
    return document


def closing(scenario: str = "bad_revision", **incident: Any) -> dict[str, Any]:
    fields = {"state": "closed", "ended_at": START + 60, "observed_value": "0.001", **incident}
    return notification(scenario, **fields)


def handle(w: FastWorld, document: dict[str, Any], message_id: str):
    return handle_alert(event(json.dumps(document).encode(), message_id), w.config, w.adapters)


def writes(w: FastWorld) -> int:
    return w.standins.run.count("UpdateService") + w.standins.vpcaccess.count("PatchConnector")


@pytest.mark.parametrize("scenario, fields, words", [
    ("bad_revision", {}, ("2026-11-26T12:00:00Z", "2026-11-26T12:01:00Z")),
    ("bad_revision", {"started_at": START - 7200, "ended_at": START - 60, "policy_name": "Backend p99 over 2 s"},
     ("2026-11-26T10:00:00Z", "2026-11-26T11:59:00Z", "'Backend p99 over 2 s'")),
    ("bad_revision", {"ended_at": None}, ("2026-11-26T12:00:00Z", "no end given")),
    ("connector_saturation", {"ended_at": START + 45}, ("2026-11-26T12:00:45Z",)),
    ("healthy", {"incident_id": "0.q7w2xkz", "ended_at": START + 110}, ("0.q7w2xkz", "2026-11-26T12:01:50Z")),
], ids=["service", "other-policy-and-times", "no-end", "connector", "other-id"])
def test_a_closed_whose_open_never_arrived_is_escalated_with_its_times_and_policy(scenario, fields, words):
    w = world(scenario)
    document = closing(scenario, **fields)
    outcome = handle(w, document, "c-1")
    assert outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert "no OPEN of incident" in outcome.reason and "nothing was diagnosed or done" in outcome.reason, outcome.reason
    assert repr(document["incident"]["policy_name"]) in outcome.reason, outcome.reason
    for expected in words:
        assert expected in outcome.reason, outcome.reason
    assert writes(w) == 0
    # Recorded closed all the same: the OPEN, delivered late, is dropped as closed, never acted on.
    record = w.state.get_record(INCIDENTS, document["incident"]["incident_id"])
    assert record is not None and record["state"] == "closed"
    late = handle(w, notification(scenario, **{k: v for k, v in fields.items() if k in ("incident_id", "started_at",
                                                                                          "policy_name")}), "o-1")
    assert late.status is OutcomeStatus.SKIPPED and "incident already closed" in late.reason, late.reason
    assert writes(w) == 0


@pytest.mark.parametrize("scenario, mode", [
    ("bad_revision", "enforce"),     # acted on: the rollback's record
    ("bad_revision", "dry_run"),     # diagnosed, nothing written: only the incident's record says it was seen
    ("healthy", "enforce"),          # diagnosed healthy: the same
    ("connector_saturation", "dry_run"),
], ids=["acted", "dry-run", "healthy", "connector-dry-run"])
def test_a_closed_after_its_open_is_resolved_as_before(scenario, mode):
    w = world(scenario, mode)
    handle(w, notification(scenario), "o-1")
    outcome = handle(w, closing(scenario), "c-1")
    assert outcome.status is OutcomeStatus.RESOLVED, outcome.reason
    assert "no OPEN" not in outcome.reason


def test_a_redelivered_open_leaves_one_record_and_its_closed_is_resolved():
    w = world("healthy")
    handle(w, notification("healthy"), "o-1")
    handle(w, notification("healthy"), "o-2")      # a reminder (renotifyInterval): the record stays as it was
    outcome = handle(w, closing("healthy"), "c-1")
    assert outcome.status is OutcomeStatus.RESOLVED, outcome.reason


def test_a_closed_of_an_unmanaged_service_is_recorded_as_before():
    # Its OPEN would have been skipped as not managed: nothing was lost that a person needed.
    w = world()
    document = closing()
    document["incident"]["resource"]["labels"]["service_name"] = "someone-elses"
    outcome = handle(w, document, "c-1")
    assert outcome.status is OutcomeStatus.RESOLVED, outcome.reason


def test_a_redelivery_of_the_closed_pages_once():
    w = world()
    first = handle(w, closing(), "c-1")
    again = handle(w, closing(), "c-1")
    assert first.status is OutcomeStatus.ESCALATED
    assert again.status is OutcomeStatus.SKIPPED, again.reason


def test_a_closed_that_comes_while_the_open_is_recorded_stays_recorded_closed():
    """The OPEN's record is created only if there is none: a CLOSED recorded between the OPEN's read of
    state and that create is not overwritten, so a later OPEN is still dropped as closed."""
    w = world("healthy")
    create, done = w.state.create_record, []

    def create_record(kind, key, data):
        if kind == INCIDENTS and not done:
            done.append(handle(w, closing("healthy"), "c-1"))
        return create(kind, key, data)

    w.state.create_record = create_record
    handle(w, notification("healthy"), "o-1")
    assert [o.status for o in done] == [OutcomeStatus.ESCALATED], [o.reason for o in done]
    record = w.state.get_record(INCIDENTS, notification("healthy")["incident"]["incident_id"])
    assert record["state"] == "closed", record
    again = handle(w, notification("healthy"), "o-2")
    assert again.status is OutcomeStatus.SKIPPED and "incident already closed" in again.reason, again.reason


def test_a_closed_that_comes_while_the_evidence_is_read_is_resolved():
    """The OPEN is recorded beside its evidence reads, before anything is decided: a CLOSED handled from
    then on (Pub/Sub delivering both at once after a backlog) finds it, and is `resolved`, not escalated."""
    w = world("healthy")
    run, done = w.adapters.run, []
    incident_id = notification("healthy")["incident"]["incident_id"]

    once = threading.Lock()   # the evidence is read on several threads at once

    class ClosedMeanwhile:
        def __getattr__(self, name):
            with once:
                if not done:
                    deadline = time.monotonic() + 10
                    while w.state.get_record(INCIDENTS, incident_id) is None and time.monotonic() < deadline:
                        time.sleep(0.01)
                    done.append(handle(w, closing("healthy"), "c-1"))
            return getattr(run, name)

    w.adapters.run = ClosedMeanwhile()
    handle(w, notification("healthy"), "o-1")
    w.adapters.run = run
    assert [o.status for o in done] == [OutcomeStatus.RESOLVED], [o.reason for o in done]
