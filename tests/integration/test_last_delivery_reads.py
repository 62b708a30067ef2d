"""At the alert's last delivery (delivery.max_attempts), a read that never answered ends in one outcome a person reads.

A read whose first page never came (UNAVAILABLE past the call's retries, a deadline before any page) is a transient
fault: an earlier delivery raises it, and Pub/Sub delivers the alert again. On the last delivery no redelivery will
come (`retry_or_give_up` gives up), so an optional read that never answered is a named gap beside the evidence that
was read (collection.unanswered): the alert is escalated with that evidence and the read named, never acted on nor
called healthy (docs/behaviour.md, "A read that did not finish").

Here, on the stand-ins through the real adapters (`fail_next`): a connector alert's read of which managed services use
the connector (scope.users, collection.users_of: GetService and ListRevisions of each managed service), and the
rollback's candidate targets' startup read (collection._target_startup). The escalation says what to do: which read,
over which minutes, and the query or filter a person can paste.
"""
from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from sandbox.scenarios import resolve_scenario, seed
from shared.alerts.delivery import DeliveryCounter
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.errors import TransientError
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.pipeline import handle_delivery
from shared.remediation.planning import plan
from tests.integration.world import FAST, World

pytestmark = pytest.mark.emulator

CONNECTOR_ALERT = "connector_alert_shared"   # orders and payments behind shared-conn, saturated: scaled when read whole
UNANSWERED = "no answer by the alert's last delivery"


def _connector_world(standin_env, pubsub, project_id, anchor) -> World:
    world = World.for_scenario(resolve_scenario(CONNECTOR_ALERT), standin_env, pubsub, project_id, anchor)
    world.seed(CONNECTOR_ALERT)
    return world


def _deliver(world: World, counter: DeliveryCounter, attempt: int):
    return handle_delivery(world.alert(CONNECTOR_ALERT, message_id="m-1"), world.config, world.adapters,
                           counter=counter, delivery_attempt=attempt)


def test_a_connector_alerts_user_read_that_never_answered_is_escalated_with_the_connectors_evidence(
        standin_env, firestore, pubsub, project_id, anchor):
    """payments' GetService never answers (UNAVAILABLE on each of the call's attempts), orders' does. Before the last
    delivery it is raised, so that Pub/Sub delivers the alert again. At the last, whether payments is behind the
    connector is not known: orders' diagnosis (the connector's metrics, its state) reaches a person with payments'
    read named, and the connector is not scaled on half its users. Before, the last delivery answered a bare
    `failed` ("gave up after N deliveries ...: GetService ...") with none of the connector's evidence."""
    world = _connector_world(standin_env, pubsub, project_id, anchor)
    limit = world.config.delivery.max_attempts
    counter = DeliveryCounter()
    standin_env.run.faults.fail_next(FAST.attempts, grpc.StatusCode.UNAVAILABLE, method="GetService",
                                     about="services/payments")
    with pytest.raises(TransientError):                                 # not the last: delivered again
        _deliver(world, counter, limit - 1)
    assert world.writes() == 0

    standin_env.run.faults.fail_next(FAST.attempts, grpc.StatusCode.UNAVAILABLE, method="GetService",
                                     about="services/payments")
    outcome = _deliver(world, counter, limit)

    assert outcome.status.value == "escalated", outcome.reason
    assert outcome.action is None and world.writes() == 0
    report = outcome.diagnosis
    assert report is not None and report.signature == "inconclusive", outcome.reason
    # The read that never answered, named; and what was read of the connector (orders' evidence).
    assert f"services/payments: {UNANSWERED}" in report.summary and f"(payments: {UNANSWERED}" in report.summary, \
        report.summary
    assert "connector_saturation on what was read" in report.summary, report.summary
    assert any("connector/cpu/utilizations" in item.query for item in report.evidence)
    # What to do: read the service by hand, then decide on the connector.
    assert "gcloud run services describe payments --region europe-west1 --project shop-prod" \
        in report.recommendation, report.recommendation
    assert "if the finding holds, move shared-conn from e2-micro" in report.recommendation, report.recommendation


def test_a_connector_alert_none_of_whose_users_answered_is_escalated_naming_each_read(
        standin_env, firestore, pubsub, project_id, anchor):
    """No managed service's GetService answers at the last delivery: nothing was read of the connector's users, and
    unread is not "not behind it": escalated, each service's read named, nothing done. Before, a bare `failed`."""
    world = _connector_world(standin_env, pubsub, project_id, anchor)
    standin_env.run.faults.fail_next(100, grpc.StatusCode.UNAVAILABLE, method="GetService")

    outcome = _deliver(world, DeliveryCounter(), world.config.delivery.max_attempts)

    assert outcome.status.value == "escalated", outcome.reason
    assert world.writes() == 0
    for service in ("orders", "payments"):
        assert f"services/{service}: {UNANSWERED}" in outcome.reason, outcome.reason


STARTUP_SERVICE = "projects/shop-prod/locations/us-central1/services/checkout"
STARTUP_SCENARIO = "deploy_log_flood_previous_secret_disabled"   # a full page of the new revision's errors
STARTUP_READ = "logging: the rollback's candidate targets' startup failures"


def _startup_unanswered(standin_env, anchor, last_delivery: bool):
    """The service's collection with its two searches answered and the candidates' startup read never answering."""
    seed(standin_env, resolve_scenario(STARTUP_SCENARIO), anchor)
    readers = Readers(run=CloudRunAdapter(policy=FAST), monitoring=CloudMonitoringAdapter(policy=FAST),
                      logging=CloudLoggingAdapter(policy=FAST), vpcaccess=VpcAccessAdapter(policy=FAST))
    standin_env.logging.faults.fail_next(FAST.attempts, grpc.StatusCode.UNAVAILABLE, method="ListLogEntries", after=2)
    return collect(STARTUP_SERVICE, anchor, readers, DiagnosisSettings(), anchor + timedelta(minutes=2),
                   last_delivery=last_delivery)


def test_the_startup_read_that_never_answered_at_the_last_delivery_says_so(standin_env, anchor):
    """The candidates' startup read is a gap whatever its failure (bad_revision escalates rather than roll back to
    a target whose starts it could not see). At the last delivery a transient one is worded as a read that never
    answered, and counted with the reads that did not finish, its Logs Explorer query in the recommendation. Before,
    a plain gap ("... startup failures: ... UNAVAILABLE"): the person was not told the read had never answered."""
    bundle = _startup_unanswered(standin_env, anchor, last_delivery=True)

    [gap] = [g for g in bundle.gaps if g.startswith(STARTUP_READ)]
    assert gap.startswith(f"{STARTUP_READ}: {UNANSWERED}"), gap
    assert gap in bundle.incomplete_reads
    d = diagnose(bundle, DiagnosisSettings())
    assert d.signature is Signature.INCONCLUSIVE and gap in d.summary
    assert "Logs Explorer" in d.recommendation and 'resource.labels.revision_name' in d.recommendation, \
        d.recommendation


def test_the_startup_read_failing_before_the_last_delivery_is_a_plain_gap(standin_env, anchor):
    """The guard: on an earlier delivery the startup read's failure is the plain gap it was (never the event retried:
    the quota would be spent again), not a read said never to have answered."""
    bundle = _startup_unanswered(standin_env, anchor, last_delivery=False)

    [gap] = [g for g in bundle.gaps if g.startswith(STARTUP_READ)]
    assert UNANSWERED not in gap and gap not in bundle.incomplete_reads
    d = diagnose(bundle, DiagnosisSettings())
    assert plan(d, bundle, DiagnosisSettings()).action is None, d.summary   # no rollback to a target unseen


def test_an_alert_waiting_past_its_last_delivery_for_a_write_then_unanswered_is_escalated_not_acted_on(
        standin_env, firestore, pubsub, project_id, anchor):
    """Deliveries that only this instance counts (no dead-letter policy: no deliveryAttempt), held back by another
    write in flight on the service (WriteInFlight): past delivery.max_attempts they keep waiting for that write, up
    to a write claim's lease (`_retry_or_give_up(..., keeps_waiting=...)`), each answered non-2xx and delivered again,
    none published. Once the write has ended the next delivery is handled in full, and it is past the last: a Logging
    search that never answers is a named gap beside the evidence, the alert escalated, never rolled back on evidence
    read in part and never left without an answer. The escalation held on main too; its recommendation there named
    no read and no query ("run them again over a narrower time range")."""
    from shared.remediation.guardrails import WRITING

    world = World(standin_env, pubsub, project_id, anchor, delivery={"max_attempts": 5},
                  guardrails={"cooldown_seconds": 0})
    world.seed("bad_revision")
    service, message = world.config.services[0].name, world.alert("bad_revision", message_id="held-1")
    world.state.claim(WRITING, service, "other-incident:a", timedelta(minutes=12), world.clock.now())
    counter = _delivered_past_the_last(world, message)
    assert world.writes() == 0
    world.state.release(WRITING, service, "other-incident:a")          # that write has ended
    standin_env.logging.faults.fail_next(10_000, grpc.StatusCode.UNAVAILABLE, method="ListLogEntries")

    outcome = handle_delivery(message, world.config, world.adapters, counter=counter)

    assert outcome.status.value == "escalated", outcome.reason
    assert world.writes() == 0 and outcome.action is None
    assert f"logging: audit log: {UNANSWERED}" in outcome.diagnosis.summary, outcome.diagnosis.summary
    assert "in Logs Explorer (project demo-project)" in outcome.diagnosis.recommendation


def _delivered_past_the_last(world: World, message: dict) -> DeliveryCounter:
    """`message` delivered once past delivery.max_attempts, counted here only (no deliveryAttempt), each delivery
    answered non-2xx (held back by a write in flight, waited for): the counter its next delivery goes on with."""
    counter = DeliveryCounter()
    for _ in range(world.config.delivery.max_attempts + 1):
        with pytest.raises(TransientError):
            handle_delivery(message, world.config, world.adapters, counter=counter)
    return counter
