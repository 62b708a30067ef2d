"""A sweep's undo retried by a later sweep after its first attempt wrote, on the Firestore and Pub/Sub emulators.

The property harness (tests/property/harness.py) on real parts: FirestoreStateStore against the
Firestore emulator (wrapped in FaultyStateStore for the injected faults), outcomes through the Pub/Sub
emulator, Cloud Run's stand-in. The same program runs in-process in tests/property/test_fast_tier.py.
"""
from __future__ import annotations

import pytest

from tests.property.harness import OPERATOR, CONNECTOR, Open, StoreFault, Sweep, fresh_run
from tests.property.invariants import check_all, explain, undo_escalated_not_written_again

pytestmark = pytest.mark.emulator

# The soak's world: no cooldown, one action per target per hour and per day.
POLICY = {"guardrails": {"cooldown_seconds": 0, "max_actions_per_target_per_hour": 1,
                         "max_actions_per_target_per_day": 1},
          "operators": [OPERATOR],
          "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}


def test_a_sweeps_undo_whose_record_failed_is_never_written_again_by_a_later_sweep(
        firestore_emulator, pubsub_emulator, project_id):
    """Found by the soak (docs/testing.md): the sweep undid a rollback that did not help, the commit recording
    the undo failed and so did the sweep's verdict, and the next sweep, past the undo's claim's lease, wrote the
    same restore again. Now the gate's claim that undo left unfinished in Firestore holds the retry back:
    `escalated`, naming the claim, nothing written."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce", 90, **POLICY) as run:
        run.execute([Open(0, 0), StoreFault("write", 2, method="record_all"), Sweep(16), Sweep(30)])
        run.finish()
        problems = check_all(run) + undo_escalated_not_written_again(run)
        assert not problems, explain(run, problems)
