"""Metric label keys Firestore cannot hold as field names never stop an action's record.

The alert's context, its metric labels included, is stored with the action it led to (ActionRecord.alert),
each label key a field name of a Firestore map. Firestore refuses a field name matching `__.*__` (the
emulator: "field name '__name__' is reserved."), an empty one, and one over 1,500 bytes; a PromQL
condition's series may carry `__name__`, Prometheus's label for the metric's name. Before, the rollback
was written and its record then refused: on Firestore an InvalidArgument after the write ("applied, but
it could not be recorded"), the sweep's backstop refused the same way. The in-memory store refuses what
Firestore refuses (shared/gcp/firestore.plain_record, shared by both). Now such a key is kept as
`label:KEY`. In-process parts (tests/property/fast.py) through the pipeline's own entry point."""
from __future__ import annotations

import copy
import json

import pytest

from shared.diagnosis.evidence import AlertContext
from shared.gcp.firestore import plain_record
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from shared.remediation.records import ACTIONS
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

KEYS = {
    "Prometheus's metric name": ("__name__", "label:__name__"),
    "another reserved name": ("__x__", "label:__x__"),
    "an empty key": ("", "label:"),
    "a key of 1,600 bytes": ("k" * 1600, "label:" + "k" * 1491 + "..."),
}


@pytest.mark.parametrize("key, kept", KEYS.values(), ids=KEYS.keys())
def test_a_label_key_firestore_refuses_is_kept_as_one_it_holds(key, kept):
    with pytest.raises(ValueError):
        plain_record({"alert": {"metric_labels": {key: "v"}}})
    context = AlertContext(metric_labels={key: "v", "response_code_class": "5xx"})
    assert context.metric_labels == {kept: "v", "response_code_class": "5xx"}
    plain_record(context.model_dump(mode="python"))    # storable


def test_keys_firestore_holds_are_kept_as_they_are():
    labels = {"response_code_class": "5xx", "_private": "x", "a.b": "y", "ключ": "z"}
    assert AlertContext(metric_labels=labels).metric_labels == labels


def test_a_promql_alert_whose_series_carries_its_metric_name_is_recorded_with_its_action():
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    document["incident"]["metric"]["labels"]["__name__"] = "run_googleapis_com:request_count"

    outcome = handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters)

    assert outcome.status is OutcomeStatus.APPLIED, outcome.reason
    [record] = world.state.find_records(ACTIONS, "incident_id", outcome.incident_id)
    assert record["alert"]["metric_labels"]["label:__name__"] == "run_googleapis_com:request_count"
