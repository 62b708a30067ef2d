"""A manual `scale_connector` on a connector whose policy does not allow a one-way change on its own
(`allow_one_way: false`): the change is the decision an `approve` of its proposal would be, which only
`operators` may give. Sent by anyone else it was applied all the same, so the approval the policy asks for
was one command away from anyone who may publish. Through the real entry point, on in-process parts."""
from __future__ import annotations

import json

import pytest

from shared.commands import handle_command
from shared.outcomes import OutcomeStatus
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR

OPERATOR = "alice@example.com"


@pytest.mark.parametrize("one_way, requested_by, dry_run, status", [
    (False, "bob@example.com", False, OutcomeStatus.REJECTED),     # the approval the policy asks for, bypassed
    (False, "bob@example.com", True, OutcomeStatus.REJECTED),      # a dry run answers as the real one would
    (False, "Alice@Example.com", False, OutcomeStatus.APPLIED),    # an operator, in its own case: the person's decision
    (True, "bob@example.com", False, OutcomeStatus.APPLIED),       # the policy lets automation make it: anyone
    (True, OPERATOR, False, OutcomeStatus.APPLIED),
])
def test_a_one_way_scale_the_policy_leaves_to_a_person_is_an_operators_decision(one_way, requested_by, dry_run,
                                                                                   status):
    w = FastWorld(seeded_copy("connector_saturation", None), ANCHOR, operators=[OPERATOR],
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": one_way}]})
    body = {"command": "scale_connector", "command_id": "sc-1", "requested_by": requested_by, "reason": "INC-7",
            "target": CONNECTOR, "params": {"max_instances": 6}, "dry_run": dry_run}
    [outcome] = handle_command(event(json.dumps(body).encode(), "m-1"), w.config, w.adapters)
    assert outcome.status is status, outcome.reason
    if status is OutcomeStatus.REJECTED:
        assert outcome.reason.startswith(f"requested_by: {requested_by!r} is not in operators"), outcome.reason
        assert "allow_one_way" in outcome.reason and "approve" in outcome.reason, outcome.reason
        # What to do about it: who the sender says they are is requested_by, which the CLI sets with --as.
        assert "--as PRINCIPAL" in outcome.reason and "new command_id" in outcome.reason, outcome.reason
    assert w.standins.vpcaccess.count("PatchConnector") == (1 if status is OutcomeStatus.APPLIED else 0)
