"""A revision's readiness has one source: its Ready condition (Revision.ready_condition, the first
condition of type "Ready"). `Revision.ready` is that condition succeeded, so a revision never reads
Ready by one property and failed by the other, whatever its conditions list holds."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.evidence import Condition, Revision

_OK, _FAILED, _RECONCILING = "CONDITION_SUCCEEDED", "CONDITION_FAILED", "CONDITION_RECONCILING"

CASES = [
    # (conditions as (type, state), ready)
    ((), False),
    ((("Ready", _OK),), True),
    ((("Ready", _FAILED),), False),
    ((("Ready", _RECONCILING),), False),
    ((("ContainerHealthy", _OK),), False),
    ((("ContainerHealthy", _FAILED), ("Ready", _OK)), True),
    # Two Ready conditions (not what Cloud Run sends, one per type): the first is the revision's,
    # for `ready` as for `ready_condition`.
    ((("Ready", _FAILED), ("Ready", _OK)), False),
    ((("Ready", _OK), ("Ready", _FAILED)), True),
]


def _revision(conditions) -> Revision:
    return Revision(name="projects/p/locations/r/services/s/revisions/s-1", service="s",
                    create_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
                    conditions=tuple(Condition(type=t, state=s) for t, s in conditions))


@pytest.mark.parametrize("conditions, ready", CASES)
def test_ready_is_the_ready_condition_succeeded(conditions, ready):
    revision = _revision(conditions)
    assert revision.ready is ready
    condition = revision.ready_condition
    assert ready is (condition is not None and condition.state == _OK)
