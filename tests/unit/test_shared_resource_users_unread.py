"""A connector or Cloud SQL alert whose managed services could not all be read: one that was not read
may be behind the resource (collection.Users.maybe), so "no managed service's serving revision uses it"
is not known, and the alert reaches a person (`escalated`), never `skipped` where nobody hears of it.
Through the pipeline, on the Cloud Run stand-in refusing `GetService` as Cloud Run refuses a caller
without `run.services.get` (PERMISSION_DENIED)."""
from __future__ import annotations

import json

import grpc
import pytest

from shared.pipeline import handle_alert

from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

CATALOG = "projects/retail-platform/locations/us-east1/services/catalog"
SCENARIO = "connector_alert_services_fine"


def _world() -> FastWorld:
    return FastWorld(seeded_copy(SCENARIO, None), ANCHOR, services=(CATALOG,))


def _connector_alert(w: FastWorld):
    document = scenario_model(SCENARIO).notification(ANCHOR)
    return handle_alert(event(json.dumps(document).encode(), "f-1"), w.config, w.adapters)


@pytest.mark.parametrize("code", [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT])
def test_a_connector_alert_whose_only_managed_service_could_not_be_read_reaches_a_person(code):
    w = _world()
    w.standins.run.faults.fail_next(50, code, method="GetService")

    outcome = _connector_alert(w)

    assert outcome.status.value == "escalated", outcome.reason
    assert "could not be read" in outcome.reason and "catalog" in outcome.reason, outcome.reason
    assert w.standins.vpcaccess.count("PatchConnector") == 0


def test_a_connector_alert_whose_only_managed_service_no_longer_exists_is_skipped_naming_it():
    """Cloud Run answers NOT_FOUND for catalog: deleted, the config not yet updated. No such service serves
    through anything, so no managed service uses the connector (before: escalated as "could not be read",
    as if it might be behind it); the answer names it as gone."""
    w = _world()
    w.standins.run.faults.fail_next(50, grpc.StatusCode.NOT_FOUND, method="GetService")

    outcome = _connector_alert(w)

    assert outcome.status.value == "skipped", outcome.reason
    assert "catalog no longer exists (its read answered NOT_FOUND)" in outcome.reason, outcome.reason
    assert "could not be read" not in outcome.reason, outcome.reason
    assert w.standins.vpcaccess.count("PatchConnector") == 0


def test_a_connector_alert_no_managed_service_uses_is_still_skipped():
    """Every managed service read, none behind the connector: not Runwarden's to answer (docs/behaviour.md)."""
    w = _world()
    document = scenario_model(SCENARIO).notification(ANCHOR)
    document["incident"]["resource"]["labels"]["connector_name"] = "other-conn"

    outcome = handle_alert(event(json.dumps(document).encode(), "f-1"), w.config, w.adapters)

    assert outcome.status.value == "skipped", outcome.reason
    assert "no managed service's serving revision uses" in outcome.reason
