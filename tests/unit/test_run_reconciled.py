"""Which UpdateService answers say what serves (shared/gcp/run.py `_reconciled`): only a Service
whose reconciliation is over and succeeded for the generation it shows (Service.reconciling)."""
from __future__ import annotations

import pytest
from google.cloud import run_v2

from shared.gcp.run import _reconciled

SUCCEEDED = run_v2.Condition.State.CONDITION_SUCCEEDED
FAILED = run_v2.Condition.State.CONDITION_FAILED


def _service(**change) -> object:
    fields = dict(generation=4, observed_generation=4, reconciling=False,
                  terminal_condition=run_v2.Condition(type_="Ready", state=SUCCEEDED))
    return run_v2.Service.pb(run_v2.Service(**{**fields, **change}))


def test_a_reconciled_service_says_what_serves():
    assert _reconciled(_service())


@pytest.mark.parametrize("change", [
    {"reconciling": True},                                                    # still being reconciled
    {"observed_generation": 3},                                               # serving an older generation
    {"terminal_condition": run_v2.Condition(type_="Ready", state=FAILED)},    # reconciliation failed
    {"terminal_condition": run_v2.Condition(type_="Ready")},                  # no state at all
    {"generation": 0, "observed_generation": 0},                              # no generation: not a read service
])
def test_anything_else_is_read_again(change):
    assert not _reconciled(_service(**change))
