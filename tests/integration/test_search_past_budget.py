"""A Logging search still paging when its read's budget runs out: escalated at once with what was read.

Cloud Logging answers a search it has not finished with a page, even an empty one, and a token ("If a value
for next_page_token appears and the entries field is empty, it means that the search found no log entries so
far but it did not have time to search all the possible log entries. Retry the method with this value for
page_token to continue the search": ListLogEntriesResponse.next_page_token, google/logging/v2/logging.proto).
The stand-in plays that with `search_budget` (each call examines that many stored entries, then answers with
what it matched and a token), and the search's own time with a latency on every ListLogEntries call.

Before, such a read raised DEADLINE_EXCEEDED at its 30 s: the delivery was redelivered and, at
delivery.max_attempts (minutes later, with Pub/Sub's backoff), a bare `failed` told a person nothing that had
been read. Now the first delivery answers `escalated`: the evidence read (metrics, revisions) and the finding,
each log read cut short named with how far it got, nothing written, never `healthy`.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.standins.logging import EntrySeed, log_name_for
from shared.alerts.delivery import DeliveryCounter
from shared.gcp.endpoints import CallPolicy
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.pipeline import handle_delivery
from tests.integration.world import World

pytestmark = pytest.mark.emulator

# A read's budget of 3 s (the product's is 30 s: CallPolicy().total_timeout), so that a search slower than it
# takes seconds here; every other read answers well within it.
BUDGET = CallPolicy(call_timeout=3, attempts=2, initial_backoff=0.01, max_backoff=0.02, total_timeout=3)
PAGE_SECONDS = 0.25          # each ListLogEntries call searches this long before it answers
REVISION = {"project_id": "demo-project", "service_name": "backend", "revision_name": "backend-00001-abc"}


def _world(standins, pubsub, project_id, anchor, scenario: str) -> World:
    world = World(standins, pubsub, project_id, anchor, delivery={"max_attempts": 5})
    a = world.adapters
    a.run = CloudRunAdapter(policy=BUDGET, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    a.monitoring = CloudMonitoringAdapter(policy=BUDGET)
    a.logging = CloudLoggingAdapter(policy=BUDGET)
    a.vpcaccess = VpcAccessAdapter(policy=BUDGET, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    world.seed(scenario)
    # Clean lines, more than the search can get through in its budget: the pages it reads look clean.
    stdout = log_name_for("demo-project", "run.googleapis.com/stdout")
    standins.logging.add_entries([EntrySeed(stdout, world.clock.now() - timedelta(seconds=i), "cloud_run_revision",
                                            REVISION, "INFO", text=f"GET /orders 200 {i}") for i in range(400)])
    standins.logging.search_budget = 1
    standins.logging.faults.add_latency(PAGE_SECONDS, method="ListLogEntries")
    return world


@pytest.mark.parametrize("scenario,would_be", [("bad_revision", "rollback_traffic"), ("healthy", "healthy")])
def test_a_search_still_paging_at_its_budget_is_escalated_at_once_with_what_was_read(
        standin_env, firestore, pubsub, project_id, anchor, scenario, would_be):
    world = _world(standin_env, pubsub, project_id, anchor, scenario)

    outcome = handle_delivery(world.alert(scenario, message_id="m-1"), world.config, world.adapters,
                              counter=DeliveryCounter())

    assert outcome.status.value == "escalated", outcome.reason        # the first delivery: not redelivered
    assert outcome.action is None and world.writes() == 0
    report = outcome.diagnosis
    assert report.signature == "inconclusive", report.summary         # never healthy, never acted on
    # The log read cut short, named with how far it got and what the token means.
    assert "logging: application and system log: ListLogEntries projects/demo-project: the search had not " \
           "finished when the read's 3 s ran out" in report.summary, report.summary
    assert "page(s) read" in report.summary and "did not have time to search all the possible log entries" \
           in report.summary
    assert "not called healthy on a partial answer" in report.summary
    # The evidence that was read is in the escalation: the request metrics, the finding they showed.
    assert any(item.source == "metric" and "request_count" in item.query for item in report.evidence)
    if would_be == "rollback_traffic":
        assert report.summary.startswith("bad_revision on what was read")
    assert standin_env.logging.count("ListLogEntries") > 3           # it did page: a search, not a refusal


def test_the_same_alert_whole_is_still_acted_on(standin_env, firestore, pubsub, project_id, anchor):
    """The control: with the search finishing in its budget, the same alert is rolled back as before."""
    world = _world(standin_env, pubsub, project_id, anchor, "bad_revision")
    standin_env.logging.search_budget = None
    standin_env.logging.faults.clear()

    outcome = handle_delivery(world.alert("bad_revision", message_id="m-1"), world.config, world.adapters,
                              counter=DeliveryCounter())

    assert outcome.status.value == "applied", outcome.reason
    assert world.writes() == 1
