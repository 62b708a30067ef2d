"""A Cloud SQL instance's own alert whose every user is healthy reaches a person with what was read of the instance.

`healthy` judges the users' requests; the alert measured the instance (Cloud SQL's database/up, here). A database alert
always reaches a person (Runwarden never writes to Cloud SQL: docs/behaviour.md), and, as a connector's alert whose
users are healthy names the connector's state, bounds, peak instances and CPU p99 (scope.connector_users_healthy), the
reason names the alert's metric and value and the instance's database/up minutes read with the users' evidence
(scope.cloudsql_users_healthy). Before, the reason was "Runwarden never writes to Cloud SQL; healthy:
<the users' verdict>", nothing of the instance: each row below failed on main.
"""
from __future__ import annotations

import json

import pytest

from shared.pipeline import handle_alert

from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

SCENARIO = "cloudsql_restarted_up_again_users_clean"
CATALOG = "projects/shop-prod/locations/us-central1/services/catalog"


def _outcome(change=None):
    w = FastWorld(seeded_copy(SCENARIO, None), ANCHOR, services=(CATALOG,))
    w.clock.set(ANCHOR + scenario_model(SCENARIO).delivered)   # +25m: database/up back at 1 for twenty minutes
    document = scenario_model(SCENARIO).notification(ANCHOR)
    if change:
        change(document["incident"])
    return handle_alert(event(json.dumps(document).encode(), "f-1"), w.config, w.adapters)


@pytest.mark.parametrize("change, said", [
    (None, "measured the instance itself (cloudsql.googleapis.com/database/up, 0 against a bar of 1)"),
    (None, "instance shop-prod:catalog-db: database/up under 1 at 3 of 23 minute(s) read since the incident began, "
           "the newest 1"),
    # A notification without observed and threshold values still names the metric and the instance's own reads.
    (lambda i: i.update(observed_value=None, threshold_value=None),
     "measured the instance itself (cloudsql.googleapis.com/database/up), which"),
], ids=["metric-and-value", "database-up-minutes", "no-values"])
def test_a_cloud_sql_alert_whose_users_are_healthy_names_the_instance(change, said):
    outcome = _outcome(change)
    assert outcome.status.value == "escalated", outcome.reason
    assert outcome.reason.startswith("Runwarden never writes to Cloud SQL; healthy: "), outcome.reason
    assert said in outcome.reason, outcome.reason
