"""The sweep's reads of the services not in the config behind a scaled connector (shared/remediation/
bystanders.py), on the Cloud Run stand-in and the emulators: what they cost in round trips, counted at the
real client's channel (sandbox/rpc_count.py), under both readings of what a ListServices entry holds, and
what the verdict says when the list cannot show every service that may use the connector."""
from __future__ import annotations

import pytest

from sandbox.rpc_count import CountingRunAdapter, RpcCounter
from tests.integration.test_remediation import connector_recovery, scaled  # noqa: F401
from tests.integration.test_verification_worlds import REPORTS, _reports
from tests.integration.world import FAST

pytestmark = pytest.mark.emulator

# Whether a listed Service is whole is not documented (RunStandIn.list_services_whole): both readings.
READINGS = [pytest.param(True, id="listed-whole"), pytest.param(False, id="listed-summary")]


def _counted(world) -> RpcCounter:
    counter = RpcCounter()
    world.adapters.run = CountingRunAdapter(counter, policy=FAST, poll_initial_delay=0.01, poll_max_delay=0.05)
    return counter


@pytest.mark.parametrize("whole", READINGS)
def test_a_service_not_in_the_config_is_read_once_after_the_list(scaled, whole):
    """`reports`, not in the config, serves through the scaled connector. Before, the sweep listed it, then
    read it with GetService, then ListRevisions, then its evidence collection read both again: 2 GetService
    and 2 ListRevisions for what the list had already said. Now the listed Service is used as it is, and
    what was read is passed on to the collection: one ListRevisions; where the list answers a summary (no
    template, no status), one GetService too."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=0)
    scaled.standins.run.list_services_whole = whole
    counter = _counted(scaled)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert "services not in the config read on backend-conn: reports" in outcome.reason, outcome.reason
    assert counter.on(REPORTS) == ({"ListRevisions": 1} if whole else {"GetService": 1, "ListRevisions": 1})
    assert counter.by_method()["ListServices"] == 1


@pytest.mark.parametrize("whole", READINGS)
def test_a_failing_service_not_in_the_config_holds_the_verdict_under_both_readings(scaled, whole):
    """Under the summary reading a listed entry names no connector and no serving revision: never read as
    "does not use it"."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=20)
    scaled.standins.run.list_services_whole = whole
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []                 # not verified: waits
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "reports: not in the config: read only, never acted on; it uses the connector and fails worse" in \
        outcome.reason, outcome.reason
