"""Realistic shapes of a Monitoring notification, through the pipeline's own entry point on in-process
parts (tests/property/fast.py): what each is answered.

- An OPEN with `"ended_at": 0`: a relay writes an unset end as its integer's zero (proto3 JSON with
  defaults emitted, a Go int64). Before, it was rejected as "open but ended at 0 (1970)", and the
  failure it reported (a bad revision) was never diagnosed nor rolled back; now it is read as open
  with no end, and acted on as the same notification with `null` is."""
from __future__ import annotations

import copy
import json

import pytest

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

SCENARIO = "bad_revision"


def notification(**incident) -> bytes:
    document = copy.deepcopy(scenario_model(SCENARIO).notification(ANCHOR))
    document["incident"].update(incident)
    return json.dumps(document).encode()


@pytest.mark.parametrize("ended_at", [None, 0, "0", "null"])
def test_an_open_with_an_unset_end_is_diagnosed_and_acted_on(ended_at):
    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)

    answer = handle_alert(event(notification(ended_at=ended_at), "1"), world.config, world.adapters)

    assert answer.status is OutcomeStatus.APPLIED, answer.reason
    assert world.standins.run.count("UpdateService") == 1
