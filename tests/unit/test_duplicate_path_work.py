"""A duplicate delivery does only the work its answer needs (docs/performance.md, "A duplicate's CPU").

The alert's context (`scope.alert_context`: the policy's bar, comparison and ratio, the condition's
doubt, the documentation) is kept only in the record of an action written for it (ActionRecord.alert,
read by the sweep). A duplicate is answered before any write, so it never builds one; the write's
record still holds it, as before. In-process parts (tests/property/fast.py) through the pipeline's own
entry point, the duplicate on an instance that does not remember the incident (a fresh memory: its
answer comes from the state store's read).
"""
from __future__ import annotations

import copy
import json
import re

import shared.pipeline as pipeline
from shared.diagnosis.scope import alert_context
from shared.outcomes import OutcomeStatus
from shared.remediation.records import ACTIONS
from shared.remediation.settled import SettledIncidents
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR


def _built(monkeypatch) -> list[object]:
    """The incidents whose alert context the pipeline builds, from here on."""
    built: list[object] = []

    def counted(incident):
        built.append(incident)
        return alert_context(incident)

    monkeypatch.setattr(pipeline, "alert_context", counted)
    return built


def test_a_duplicate_builds_no_alert_context_and_a_write_keeps_it_in_its_record(monkeypatch):
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    data = json.dumps(copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))).encode()
    built = _built(monkeypatch)

    written = pipeline.handle_alert(event(data, "1"), world.config, world.adapters)

    assert written.status is OutcomeStatus.APPLIED, written.reason
    [incident] = built
    [record] = world.state.find_records(ACTIONS, "incident_id", written.incident_id)
    expected = alert_context(incident).model_copy(update={"documentation": ""}).model_dump(mode="python")
    assert record["alert"] == expected

    for message_id in ("1", "2"):   # a redelivery of the same message, and another message of it
        world.adapters.settled = SettledIncidents()
        duplicate = pipeline.handle_alert(event(data, message_id), world.config, world.adapters)
        assert duplicate.status is OutcomeStatus.SKIPPED, duplicate.reason
        assert duplicate.reason.startswith("duplicate"), duplicate.reason
    assert built == [incident]   # the write's, and none for the duplicates


def test_each_attempt_owns_its_claims_under_an_owner_of_its_own():
    owners = {pipeline._attempt_owner("m-1") for _ in range(1000)}
    assert len(owners) == 1000
    assert all(re.fullmatch(r"m-1:[0-9a-f]{12}", owner) for owner in owners)
    assert re.fullmatch(r"unknown:[0-9a-f]{12}", pipeline._attempt_owner(None))
