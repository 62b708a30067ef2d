"""scale_connector.apply through the real VpcAccessAdapter, over HTTP, against the VPC Access stand-in."""
from __future__ import annotations

from typing import Iterator

import grpc
import pytest

from sandbox.standins.vpcaccess import QUOTA_LIMIT, VpcAccessStandIn
from shared.remediation.actions import get_action
from shared.remediation.actions.scale_connector import ScaleConnectorParams
from shared.errors import NotShownAfterWriteError, PermanentError, TransientError
from shared.gcp.endpoints import CallPolicy
from shared.gcp.vpcaccess import VpcAccessAdapter

CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
QUICK = CallPolicy(call_timeout=2, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)
ACTION = get_action("scale_connector")


class Adapters:
    def __init__(self, vpcaccess: VpcAccessAdapter) -> None:
        self.vpcaccess = vpcaccess
        self.last_delivery = False


@pytest.fixture
def adapters(vpc_standin: VpcAccessStandIn) -> Iterator[Adapters]:
    vpc = VpcAccessAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    yield Adapters(vpc)
    vpc.close()


def params(**changes) -> ScaleConnectorParams:
    values = dict(target=CONNECTOR, from_min_instances=2, from_max_instances=3, from_machine_type="e2-micro",
                  min_instances=2, max_instances=5, machine_type="e2-micro", reason="at max instances (3)")
    return ScaleConnectorParams(**{**values, **changes})


def test_raising_max_is_applied_and_returned(adapters, vpc_standin):
    after = ACTION.apply(params(), adapters)

    assert after == {"connector": {"name": CONNECTOR, "state": "READY", "machine_type": "e2-micro",
                                   "min_instances": 2, "max_instances": 5}}
    assert vpc_standin.connector(CONNECTOR)["maxInstances"] == 5
    patch = vpc_standin.requests("PatchConnector")[0]
    assert patch.update_mask == "minInstances,maxInstances"  # the machine type is left alone


def test_machine_type_change_is_applied(adapters, vpc_standin):
    after = ACTION.apply(params(max_instances=3, machine_type="e2-standard-4"), adapters)

    assert after["connector"]["machine_type"] == "e2-standard-4"
    assert (after["connector"]["min_instances"], after["connector"]["max_instances"]) == (2, 3)
    assert vpc_standin.requests("PatchConnector")[0].update_mask == "minInstances,maxInstances,machineType"


def test_the_api_refusing_to_lower_is_permanent(adapters, vpc_standin):
    big = CONNECTOR.replace("backend-conn", "big-conn")
    vpc_standin.add_connector(big, min_instances=4, max_instances=8)
    # Bounds would refuse this before apply; here the API's own refusal is what is tested.
    lowering = params(target=big, from_min_instances=4, from_max_instances=8, min_instances=4, max_instances=6)

    with pytest.raises(PermanentError, match="can only be increased") as caught:
        ACTION.apply(lowering, adapters)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert vpc_standin.connector(big)["maxInstances"] == 8


def test_a_failed_operation_is_permanent_and_changes_nothing(adapters, vpc_standin):
    vpc_standin.fail_next_operation()

    with pytest.raises(PermanentError, match="operation .* failed"):
        ACTION.apply(params(), adapters)
    assert vpc_standin.connector(CONNECTOR)["maxInstances"] == 3


@pytest.mark.parametrize("leaves, shows", [
    ("changes", {"maxInstances": 5, "state": "READY"}),      # it took, then a later step failed
    ("error", {"maxInstances": 3, "state": "ERROR"}),        # left broken: "manual deletion recommended"
])
def test_a_failed_operation_that_left_the_connector_changed_is_an_unknown_outcome(adapters, vpc_standin, leaves,
                                                                                   shows):
    """What a failed update leaves is not documented (VpcAccessStandIn.failed_update_leaves): a connector that no
    longer shows what the change was planned on may be this write's doing, so the write is an unknown outcome
    (recorded and escalated by the gate, never given back to be written again), not a `failed` that changed
    nothing. Before, both were PermanentError: the gate gave back the cooldown and budget."""
    vpc_standin.failed_update_leaves = leaves
    vpc_standin.fail_next_operation()

    with pytest.raises(NotShownAfterWriteError, match="operation .* failed.*read right after") as caught:
        ACTION.apply(params(), adapters)
    assert "may have left that" in str(caught.value)
    stored = vpc_standin.connector(CONNECTOR)
    assert {key: stored[key] for key in shows} == shows
    assert vpc_standin.count("PatchConnector") == 1



# --- no room to scale: RESOURCE_EXHAUSTED at the call, or at the operation's end ---------------------------------

CHECKS = ("gcloud compute networks vpc-access connectors describe backend-conn --region=us-central1 "
          "--project=demo-project")
BY_HAND = "gcloud compute networks vpc-access connectors update backend-conn --region=us-central1 --min-instances=2 " \
          "--max-instances=5"


def test_a_patch_refused_for_want_of_room_is_permanent_and_says_what_to_check(adapters, vpc_standin):
    """A fixed limit (the connector's range has no free IP, a project quota used up): RESOURCE_EXHAUSTED with no
    sign that it passes (no RATE_LIMIT_EXCEEDED, no RetryInfo). Before, it was transient: given back and sent
    again at every redelivery until the last, and the person was told nothing to check."""
    vpc_standin.exhaust_room()

    with pytest.raises(PermanentError) as caught:
        ACTION.apply(params(), adapters)
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    said = str(caught.value)
    assert "is exhausted" in said and "nothing was changed" in said
    assert CHECKS in said and BY_HAND in said and "iam-admin/quotas?project=demo-project" in said
    assert vpc_standin.connector(CONNECTOR)["maxInstances"] == 3


def test_an_operation_ending_out_of_room_is_permanent_and_says_what_to_check(adapters, vpc_standin):
    """Accepted, then its operation ended with code 8 (RESOURCE_EXHAUSTED) and the connector as it was: a failure
    that changed nothing, reported with what to check, never sent again by the action."""
    vpc_standin.fail_next_operation(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                    QUOTA_LIMIT.format(region="us-central1"))

    with pytest.raises(PermanentError) as caught:
        ACTION.apply(params(), adapters)
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    said = str(caught.value)
    assert "Quota 'CPUS' exceeded" in said and CHECKS in said and BY_HAND in said
    assert vpc_standin.count("PatchConnector") == 1
    assert vpc_standin.connector(CONNECTOR)["maxInstances"] == 3


@pytest.mark.parametrize("last", [False, True], ids=["redelivered", "last-delivery"])
def test_a_rate_quota_refusal_is_redelivered_until_the_last_delivery_then_reported(adapters, vpc_standin, last):
    """RESOURCE_EXHAUSTED with ErrorInfo RATE_LIMIT_EXCEEDED (a per-minute quota: it passes): transient, so the
    gate gives everything back and the redelivery tries again after Pub/Sub's backoff; on the message's last
    delivery it is reported with what to check, not left to a bare give-up."""
    vpc_standin.faults.rate_limit(3600, "PatchConnector", service="vpcaccess.googleapis.com")
    adapters.last_delivery = last

    with pytest.raises(TransientError if not last else PermanentError) as caught:
        ACTION.apply(params(), adapters)
    if last:
        assert caught.value.code == "RESOURCE_EXHAUSTED"
        assert "rate quota" in str(caught.value) and CHECKS in str(caught.value)
    # Within the call, not sent again: its per-minute window does not fit in what is left (endpoints.quota_wait).
    assert vpc_standin.count("PatchConnector") == 1
    assert vpc_standin.connector(CONNECTOR)["maxInstances"] == 3
