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

import pytest

import shared.alerts.incidents as incidents
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


# --- the incident's record: decoded only as far as a duplicate reads it -------------------------------

class _Spied:
    """A record as `get_many_deferred` returns it (shared/gcp/firestore.py `DeferredRecord`), over the
    dict, counting what is read of it: each field by name, and the whole."""

    def __init__(self, data, reads):
        self._data, self._reads = data, reads

    def get(self, name, default=None, leave=()):
        self._reads.append(name)
        return self._data.get(name, default)

    def names(self):
        return list(self._data)

    def data(self):
        self._reads.append("(whole)")
        return dict(self._data)

    def __bool__(self):
        return bool(self._data)


class _DeferringState:
    """The in-memory store with `get_many_deferred`, as the Firestore store reads in one call."""

    def __init__(self, inner):
        self._inner, self.reads = inner, {}

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def get_many_deferred(self, keys, deferred):
        answers = self._inner.get_many(keys)
        return [_Spied(a, self.reads.setdefault(k, [])) if a is not None and k in deferred else a
                for k, a in zip(keys, answers)]


def _incident_reads(world, data, message_id):
    """What a fresh instance's delivery of `data` reads of the incident's record, and its answer."""
    from shared.remediation.records import INCIDENTS

    world.adapters.settled = SettledIncidents()
    spied = _DeferringState(world.adapters.state)
    world.adapters.state = spied
    try:
        answer = pipeline.handle_alert(event(data, message_id), world.config, world.adapters)
    finally:
        world.adapters.state = spied._inner
    incident_id = json.loads(data)["incident"]["incident_id"]
    return answer, spied.reads.get((INCIDENTS, incident_id))


def test_a_duplicate_reads_the_state_of_the_incidents_record_and_nothing_else_of_it():
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    notification = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    data = json.dumps(notification).encode()
    written = pipeline.handle_alert(event(data, "1"), world.config, world.adapters)
    assert written.status is OutcomeStatus.APPLIED, written.reason

    for message_id in ("1", "2", "3"):   # a redelivery of the message, and other messages of the incident
        duplicate, reads = _incident_reads(world, data, message_id)
        assert duplicate.status is OutcomeStatus.SKIPPED and duplicate.reason.startswith("duplicate"), duplicate
        assert reads == ["state"], reads   # read deferred, and only its state


def test_a_closed_incidents_record_is_read_whole_and_answers_as_before():
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    notification = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    data = json.dumps(notification).encode()
    closing = copy.deepcopy(notification)
    closing["incident"].update(state="closed", ended_at=notification["incident"]["started_at"] + 60)
    closed = pipeline.handle_alert(event(json.dumps(closing).encode(), "c"), world.config, world.adapters)
    assert closed.status is not OutcomeStatus.REJECTED, closed.reason

    for message_id in ("o", "p"):
        answer, reads = _incident_reads(world, data, message_id)
        # The OPEN that the CLOSED overtook: skipped as closed, from the record read whole.
        assert answer.status is OutcomeStatus.SKIPPED and "already closed" in answer.reason, answer.reason
        assert reads == ["state", "(whole)"], reads


# A ratio condition: aggregations and denominatorAggregations, of one step or chained (docs/performance.md,
# "Where a fresh duplicate's own instructions grew since they were first counted").
_ONE = [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE"}]
_TWO = [{"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_DELTA"},
        {"crossSeriesReducer": "REDUCE_SUM", "groupByFields": ["resource.label.service_name"]}]


@pytest.mark.parametrize("aggregations, denominator", [
    (None, None),      # the scenario's notification as it is
    (_ONE, None),
    (_TWO, _ONE),
    (_ONE, _TWO),
    ([], []),
])
def test_a_notification_builds_each_aggregation_chain_once(monkeypatch, aggregations, denominator):
    """Every delivery parses its notification, a duplicate's too: the condition's chain and its denominator's
    are built once each (they were built seven times, four and three), and the incident reads the same."""
    notification = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    threshold = notification["incident"]["condition"]["conditionThreshold"]
    if aggregations is not None:
        threshold["aggregations"] = aggregations
    if denominator is not None:
        threshold["denominatorAggregations"] = denominator
    steps = [incidents._Aggregation.model_validate(s) for s in threshold.get("aggregations", [])]
    over = [incidents._Aggregation.model_validate(s) for s in threshold.get("denominatorAggregations", [])]
    chains: list[object] = []

    def counted(steps):
        chains.append(steps)
        return chain(steps)

    chain = incidents._chain
    monkeypatch.setattr(incidents, "_chain", counted)
    parsed = incidents.parse_notification(json.dumps(notification))
    assert len(chains) == 2
    ours, theirs = chain(steps), chain(over)
    assert (parsed.aligner, parsed.reducer, parsed.group_by) == (
        ours.per_series_aligner, ours.cross_series_reducer, ours.group_by_fields)
    assert parsed.alignment_seconds == incidents.alignment_seconds(ours.alignment_period)
    assert (parsed.denominator_aligner, parsed.denominator_reducer, parsed.denominator_group_by) == (
        theirs.per_series_aligner, theirs.cross_series_reducer, theirs.group_by_fields)
    assert parsed.denominator_aggregated is ("denominatorAggregations" in threshold)
