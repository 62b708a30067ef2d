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

import json
from datetime import timedelta

import grpc
import pytest

from sandbox.scenarios import resolve_scenario
from sandbox.standins.logging import EntrySeed, log_name_for
from shared.alerts.delivery import DeliveryCounter
from shared.errors import TransientError
from shared.gcp.endpoints import CallPolicy
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.pipeline import handle_delivery
from tests.integration.world import World, event

pytestmark = pytest.mark.emulator

# A read's budget of 3 s (the product's is 30 s: CallPolicy().total_timeout), so that a search slower than it
# takes seconds here; every other read answers well within it.
BUDGET = CallPolicy(call_timeout=3, attempts=2, initial_backoff=0.01, max_backoff=0.02, total_timeout=3)
PAGE_SECONDS = 0.25          # each ListLogEntries call searches this long before it answers
REVISION = {"project_id": "demo-project", "service_name": "backend", "revision_name": "backend-00001-abc"}


def _world(standins, pubsub, project_id, anchor, scenario: str, project: str = "demo-project",
           services: tuple[str, ...] | None = None, max_attempts: int = 5) -> World:
    world = World(standins, pubsub, project_id, anchor, delivery={"max_attempts": max_attempts},
                  **({"services": services} if services else {}))
    a = world.adapters
    a.run = CloudRunAdapter(policy=BUDGET, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    a.monitoring = CloudMonitoringAdapter(policy=BUDGET)
    a.logging = CloudLoggingAdapter(policy=BUDGET)
    a.vpcaccess = VpcAccessAdapter(policy=BUDGET, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    world.seed(scenario)
    # Clean lines, more than the search can get through in its budget: the pages it reads look clean.
    stdout = log_name_for(project, "run.googleapis.com/stdout")
    labels = {**REVISION, "project_id": project}
    standins.logging.add_entries([EntrySeed(stdout, world.clock.now() - timedelta(seconds=i), "cloud_run_revision",
                                            labels, "INFO", text=f"GET /orders 200 {i}") for i in range(400)])
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


def test_a_log_match_alerts_log_read_cut_short_is_not_read_again_without_its_filter(
        standin_env, firestore, pubsub, project_id, anchor):
    """A log-match alert (its own filter joins the service's log read: log_signals.app_log_filter) whose
    application-log read is still paging at its budget. A read Logging refused with the filter is read again
    without it (collect, test_pipeline's refused filter); one cut short is not: Logging took the filter and was
    answering, and the read is already a gap that holds the diagnosis, so a second, wider search would spend
    up to the read's whole budget again (30 s in the product) for nothing. Before, the search was
    made again without the filter, cut short again, and escalated the same."""
    service = "projects/fin-core/locations/us-central1/services/invoices"
    world = _world(standin_env, pubsub, project_id, anchor, "logmatch_proxy_dial_errors", project="fin-core",
                   services=(service,))
    notification = resolve_scenario("logmatch_proxy_dial_errors").notification(anchor)
    alert_filter = notification["incident"]["condition"]["conditionMatchedLog"]["filter"]

    outcome = handle_delivery(event(json.dumps(notification).encode(), "m-1"), world.config, world.adapters,
                              counter=DeliveryCounter())

    assert outcome.status.value == "escalated" and world.writes() == 0, outcome.reason
    report = outcome.diagnosis
    assert "logging: application and system log: ListLogEntries projects/fin-core: the search had not finished" \
           in report.summary, report.summary
    # Every application-log request carried the alert's filter: the search, resumed page after page, and no
    # second search without it (the audit and request-log reads are the service's other searches).
    app = [r.filter for r in standin_env.logging.requests("ListLogEntries") if "varlog" in r.filter]
    assert len(app) > 3, len(app)                                      # it did page
    assert all(alert_filter in f for f in app), [f for f in app if alert_filter not in f][:1]
    assert not any("without the alert's filter" in item.observed for item in report.evidence)


def test_a_read_that_never_answered_is_named_with_the_evidence_at_the_last_delivery(
        standin_env, firestore, pubsub, project_id, anchor):
    """Every Logging search's first page past its deadline (DEADLINE_EXCEEDED, nothing answered): a transient
    fault, so the alert is delivered again (a redelivery may find Logging answering). On its last delivery
    (delivery.max_attempts) the read that never answered is a gap beside the evidence that was read: the alert is
    escalated with the request metrics and the revisions, the finding they show and each Logging read named,
    never acted on (the audit log, where a person's change would be, was not read) nor called healthy. Before
   , the last delivery answered a bare `failed` ("gave up after 5 deliveries ...: ListLogEntries ...:
    Deadline Exceeded") with none of the evidence."""
    world = _world(standin_env, pubsub, project_id, anchor, "bad_revision")
    standin_env.logging.search_budget = None
    standin_env.logging.faults.clear()
    standin_env.logging.faults.fail_next(10_000, grpc.StatusCode.DEADLINE_EXCEEDED, method="ListLogEntries")
    counter = DeliveryCounter()

    with pytest.raises(TransientError):                                 # delivery 4 of 5: delivered again
        handle_delivery(world.alert("bad_revision", message_id="m-1"), world.config, world.adapters, counter=counter,
                        delivery_attempt=4)
    outcome = handle_delivery(world.alert("bad_revision", message_id="m-1"), world.config, world.adapters,
                              counter=counter, delivery_attempt=5)

    assert outcome.status.value == "escalated", outcome.reason
    assert outcome.action is None and world.writes() == 0
    report = outcome.diagnosis
    assert report.signature == "inconclusive" and report.summary.startswith("bad_revision on what was read"), \
        report.summary
    assert "logging: audit log: no answer by the alert's last delivery" in report.summary, report.summary
    assert "logging: application and system log: no answer by the alert's last delivery" in report.summary
    assert any(item.source == "metric" and "request_count" in item.query for item in report.evidence)


def test_a_revisions_listing_still_paging_is_named_when_the_alert_is_given_up_on(
        standin_env, firestore, pubsub, project_id, anchor):
    """ListRevisions still paging at its read's budget: nothing can be diagnosed without every revision (the
    suspect, the rollback's targets), so it is no gap the rest is read around; delivered again, and at the last
    delivery `failed` naming the read, how far it got and why nothing else was done. Before, the
    reason was the bare DEADLINE_EXCEEDED of a page."""
    world = _world(standin_env, pubsub, project_id, anchor, "bad_revision")
    standin_env.logging.search_budget = None
    standin_env.logging.faults.clear()
    standin_env.run.revisions_page_size = 1                              # one revision a page
    standin_env.run.faults.add_latency(2, method="ListRevisions")       # the second page past the 3 s
    counter = DeliveryCounter()

    with pytest.raises(TransientError):
        handle_delivery(world.alert("bad_revision", message_id="m-1"), world.config, world.adapters, counter=counter,
                        delivery_attempt=4)
    outcome = handle_delivery(world.alert("bad_revision", message_id="m-1"), world.config, world.adapters,
                              counter=counter, delivery_attempt=5)

    assert outcome.status.value == "failed" and world.writes() == 0, outcome.reason
    assert "gave up after 5 deliveries" in outcome.reason
    assert "ListRevisions projects/demo-project/locations/us-central1/services/backend: still paging when the " \
           "read's 3 s ran out: 1 page(s) read, 1 revision(s) taken" in outcome.reason, outcome.reason
    assert "nothing is diagnosed without the service and its revisions" in outcome.reason, outcome.reason
