"""An operator's restore whose write took and whose record failed, settled by the sweep (verification.Sweep
._own_restore), keeps the Pub/Sub message that carried it as the rollback's `undone_by_message`, as the recorded
restore does (shared/commands/traffic.py `_close_rollbacks`): a later restore of the same rollback names it."""
from shared.remediation.records import ACTIONS
from tests.property.test_later_events import (_RESTORE_UNRECORDED, OPERATOR, SERVICE, Open, OperatorRestore, Sweep,
                                              fast_run)


def test_a_restore_settled_by_the_sweep_keeps_its_message_id():
    with fast_run("bad_revision", "enforce", 90, operators=[OPERATOR]) as run:
        run.execute([Open(0, 0), *_RESTORE_UNRECORDED, OperatorRestore(0, False, 0), Sweep(16), Sweep(40)])
        [action] = run.world.adapters.state.find_records(ACTIONS, "service", SERVICE)
        kept = {k: action.get(k) for k in ("state", "note", "undone_by_command", "undone_by_message")}
        assert action["state"] == "undone" and action["undone_by_command"] == "op-restore-0", kept
        assert action.get("undone_by_message"), kept
