"""scale_connector by an operator's command: an explicit max_instances and/or machine_type, within
the API's rules (3-10 instances, scale-up only, known machine types) and the connector's policy
(ceiling, allowed machine types), through the gate. An operator's command is the person's
decision, so it is applied rather than proposed; where the policy leaves the one-way change to a person
(no `allow_one_way`), that decision is the one an `approve` of its proposal would be, so only `operators`
may make it."""
from __future__ import annotations

from shared.alerts.operators import ONE_WAY_SCALE, lacks_one_way
from shared.commands.context import CommandRun, refused
from shared.commands.inventory import known_connector
from shared.commands.traffic import through_gate
from shared.outcomes import Outcome
from shared.remediation.actions.scale_connector import ScaleConnectorParams, connector_state, not_ready_answer


def handle(run: CommandRun) -> Outcome:
    name = known_connector(run)
    if not run.config.bounds.connector(name).allow_one_way:
        run.require_operator(ONE_WAY_SCALE, lacks_one_way(name))
    run.require_own_override()
    connector = run.adapters.vpcaccess.get_connector(name)
    if connector.state != "READY":
        raise refused(_not_ready(connector.short_name, connector.state, name))
    p = run.command.params
    params = ScaleConnectorParams(
        target=name, from_min_instances=connector.min_instances, from_max_instances=connector.max_instances,
        from_machine_type=connector.machine_type, min_instances=connector.min_instances,
        max_instances=p.max_instances if p.max_instances is not None else connector.max_instances,
        machine_type=p.machine_type or connector.machine_type, reason=f"operator: {run.command.reason}"[:200])
    if not params.changes_anything:
        # Exactly the connector as it is (the same command again under a new id, a second operator): nothing
        # to do, as a rollback to the revision already serving is, not a command refused as out of bounds.
        raise refused(f"{connector.short_name} is already {connector.machine_type}, {connector.min_instances}-"
                      f"{connector.max_instances} instances: nothing to do, nothing written")
    return through_gate(run, "scale_connector", params, connector_state(connector), name)


def _not_ready(short: str, state: str, name: str) -> str:
    return not_ready_answer(short, state, name, "nothing written",
                            "send this again with a new command_id once it is READY")
