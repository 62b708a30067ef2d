"""An operator's command resent after its first attempt wrote, on the Firestore and Pub/Sub emulators.

The property harness (tests/property/harness.py) on real parts: FirestoreStateStore against the
Firestore emulator (wrapped in FaultyStateStore for the injected faults), outcomes through the Pub/Sub
emulator, Cloud Run's stand-in. The same programs run in-process in tests/property/test_fast_tier.py.
"""
from __future__ import annotations

import pytest

from tests.property.harness import OPERATOR, CONNECTOR, Concurrent, Open, OperatorRestore, StoreFault, fresh_run
from tests.property.invariants import check_all, explain

pytestmark = pytest.mark.emulator

# cooldown 0, as the soak's worlds: the alert's rollback may land between a restore and its resend.
POLICY = {"guardrails": {"cooldown_seconds": 0}, "operators": [OPERATOR],
          "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}


# The faults name the writes they hit (the restore stores its own note first: tests/property/test_fast_tier.py).
@pytest.mark.parametrize("program", [
    [StoreFault("write", 1, method="record_all"), StoreFault("write", 1, method="complete"),
     OperatorRestore(0, True), OperatorRestore(0, True), Open(0, 0)],
    [Concurrent(1, 0, 2, True), StoreFault("write", 1, method="update_record"),
     StoreFault("write", 1, method="record_all"), StoreFault("write", 1, method="complete"),
     OperatorRestore(0, True), OperatorRestore(0, False, 1)],
], ids=["same-body", "other-body"])
def test_a_restore_whose_records_failed_is_never_written_again_after_the_service_changed(
        firestore_emulator, pubsub_emulator, project_id, program):
    """Found by the soak (docs/testing.md): the restore wrote, the commit recording it and the command's
    own record failed, an alert rolled the service back, and the resend past the first attempt's claim
    restored again. Now the gate claim that attempt left unfinished in Firestore holds the resend back:
    `escalated`, nothing written."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce", **POLICY) as run:
        run.execute(program)
        run.finish()
        problems = check_all(run)
        assert not problems, explain(run, problems)
        restores = [obs for obs in run.trace if "restore" in str(obs.step)]
        assert sum(obs.run_writes for obs in restores) == 1, run.describe()
        answered = [o for obs in restores for o in obs.outcomes]
        assert [o.status.value for o in answered] == ["escalated"] * 3, run.describe()
        assert "never finished it" in answered[1].reason, answered[1].reason


def test_a_restore_whose_command_record_failed_is_a_duplicate_after_the_service_changed(
        firestore_emulator, pubsub_emulator, project_id):
    """The gate's claim completed, only the command's own record lost: the resend is a duplicate naming
    the restore the gate recorded as applied, not a second restore over the alert's rollback."""
    with fresh_run(firestore_emulator, pubsub_emulator, project_id, "bad_revision", "enforce", **POLICY) as run:
        run.execute([StoreFault("write", 1, method="complete"), OperatorRestore(0, True), OperatorRestore(0, True),
                     Open(0, 0)])
        run.finish()
        problems = check_all(run)
        assert not problems, explain(run, problems)
        restores = [obs for obs in run.trace if "restore" in str(obs.step)]
        assert sum(obs.run_writes for obs in restores) == 1, run.describe()
        answered = [o for obs in restores for o in obs.outcomes]
        assert [o.status.value for o in answered] == ["applied", "skipped", "skipped"], run.describe()
        assert "already made its change" in answered[1].reason, answered[1].reason
