"""Round trips to Firestore, counted at the real client's gRPC channel (sandbox/rpc_count.py)
against the emulator: what a duplicate delivery, a first write and a budget slot cost."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from sandbox.rpc_count import CountingStateStore, RpcCounter
from shared.gcp.firestore import FirestoreStateStore
from shared.remediation.guardrails import BUDGETS
from tests.integration.world import World, concurrently
from tests.integration.test_remediation import judged

pytestmark = pytest.mark.emulator


@pytest.fixture
def counter() -> RpcCounter:
    return RpcCounter()


CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor, counter):
    world = World(standin_env, pubsub, project_id, anchor,
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    world.state = world.adapters.state = CountingStateStore(counter, project_id)
    return world


def test_a_duplicate_delivery_costs_one_firestore_round_trip_and_one_publish(world, counter):
    world.seed("bad_revision")
    first = world.handle(world.alert(message_id="1"))
    assert first.status.value == "applied"
    counter.reset()
    reads_before = world.reads()

    second = world.handle(world.alert(message_id="1"))   # Pub/Sub redelivers the same message

    assert (second.status.value, second.reason.split(":")[0]) == ("skipped", "duplicate")
    # One batched read: the incident's record, what settled its actions (written with the claim's
    # completion), this message's intent and the claims on the alert's target. No query.
    assert counter.by_method() == {"BatchGetDocuments": 1}
    assert world.reads() == reads_before   # no evidence read for a duplicate
    assert [o["status"] for o in world.published(2)] == ["applied", "skipped"]


def test_a_duplicate_after_a_connector_write_is_one_round_trip_too(world, counter):
    """The claim sits on the connector, a target only the incident's action record names: its
    SETTLED entry carries the claim as completed."""
    world.seed("connector_saturation")
    first = world.handle(world.alert("connector_saturation", message_id="1"))
    assert first.status.value == "applied", first.reason
    counter.reset()

    second = world.handle(world.alert("connector_saturation", message_id="1"))

    assert second.status.value == "skipped" and second.reason.startswith("duplicate"), second.reason
    assert second.target == first.target
    assert counter.by_method() == {"BatchGetDocuments": 1}


def test_a_refusal_held_on_the_connector_answers_a_later_notification_in_one_round_trip(world, counter):
    """The patch refused for good: the connector's claim is kept `failed` for the cooldown, a target only
    the gate's claim names (no action record). Its SETTLED entry, written by the commit that completes the
    claim, answers the incident's next notification from the one batched read, with no evidence read; it
    was found only at the gate, after all the evidence."""
    import grpc

    world.seed("connector_saturation")
    world.standins.vpcaccess.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="PatchConnector")
    first = world.handle(world.alert("connector_saturation", message_id="1"))
    assert first.status.value == "failed", first.reason
    counter.reset()
    reads_before = world.reads()

    second = world.handle(world.alert("connector_saturation", message_id="2"))   # Monitoring notifies again

    assert second.status.value == "skipped" and second.reason.startswith("duplicate"), second.reason
    assert "PERMISSION_DENIED" in second.reason and second.target == first.target, second.reason
    assert counter.by_method() == {"BatchGetDocuments": 1}
    assert world.reads() == reads_before


def test_a_connector_write_for_a_services_alert_reads_the_services_pause_with_its_switches(world, counter):
    """The write's target is the connector, the alert the service's: the gate reads the service's pause
    (a pause of a service holds back every write made for it) in the batched reads it already makes,
    the switches, cooldown and budgets before the claim and the check right before the write. It costs
    what the connector's first write cost before the service's pause was read."""
    world.seed("connector_saturation")

    first = world.handle(world.alert("connector_saturation", message_id="1"))

    assert first.status.value == "applied", first.reason
    # The three commits of the first write, and one more after it: its write claim given back (`_end_writing`);
    # and, beside the evidence reads, the incident's record created (its OPEN seen: history.note_seen). After
    # the write, beside its commit, one read of the switches again (`Gate._landed_meanwhile`). A connector's
    # target also costs one query of the engaged pauses each time the switches are read for it (the gate's
    # before the claim, right before the write, and after it): a pause of the same connector under the other
    # form of its project holds the write (`Gate.paused_otherwise`), and names alone cannot find it by key.
    # Each is sent beside the batched read of the switches it completes, on a thread of its own
    # (`Gate._pauses_ahead`), not after its answer: a round trip in count, none on the way to the write.
    # Folding it into the batched reads (a pause also kept under a key both spellings share) is left: a pause
    # stored before, or by an instance of an earlier version during a deploy, would not be under it.
    assert counter.by_method() == {"BatchGetDocuments": 5, "RunQuery": 6, "Commit": 5}, counter.by_method()
    assert counter.by_thread("pause-query") == {"RunQuery": 3}, counter.by_thread("pause-query")
    # None of the pauses' queries is sent from the handler's thread (it once sent the gate's own, before the claim).
    # The handler's own thread sends one: the connector's (pipeline.own_connector_update). The incident's, read
    # once the batched read found nothing of it, runs beside the evidence (`_AlertRun.duplicate_beside`).
    assert counter.by_thread("MainThread")["RunQuery"] == 1, counter.by_thread("MainThread")
    assert counter.by_thread("incident-actions") == {"RunQuery": 1}, counter.by_thread("incident-actions")
    # The gate's batched read for the connector (its switches with the service's pause, cooldown, write claim and
    # budget slots) is sent on the read-ahead's thread as soon as the plan scales the connector, beside the
    # query of its action records (`_ReadAhead.connector`), not by the gate after that query has answered: the
    # handler's thread sends 1 BatchGetDocuments (the state's, before anything else), was 2. In all the same: the
    # read-ahead's batch of the service's keys cannot carry the connector's, which only the evidence names.
    assert counter.by_thread("MainThread") == {"BatchGetDocuments": 1, "RunQuery": 1, "Commit": 2}, \
        counter.by_thread("MainThread")
    assert counter.by_thread("read-ahead") == {"RunQuery": 1, "BatchGetDocuments": 2}, counter.by_thread("read-ahead")


@pytest.mark.parametrize("name", ["connector_at_ceiling", "connector_cpu_hot_below_its_max"])
def test_a_connector_saturation_that_plans_nothing_reads_nothing_ahead_for_the_connector(
        standin_env, firestore, pubsub, project_id, anchor, counter, name):
    """The diagnosis names the connector, and planning writes nothing to it (at its ceiling with no machine to
    move to; its instances never reached the max it has): the gate's batch for the connector and its pause query
    (`_ReadAhead.connector`) are not sent, as nothing would read them. Before, they went out as soon as the
    diagnosis said connector_saturation: one BatchGetDocuments on the read-ahead's thread and one RunQuery on
    the pause query's, in count, on a path that writes nothing."""
    from sandbox.scenarios import resolve_scenario

    scenario = resolve_scenario(name)
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.state = world.adapters.state = CountingStateStore(counter, project_id)
    world.seed(name)

    outcome = world.handle(world.alert(name))

    assert (outcome.status.value, outcome.diagnosis.signature) == ("escalated", "connector_saturation"), \
        outcome.reason
    assert world.writes() == 0
    # The service's reads ahead alone: its action records and the gate's batch of its keys.
    assert counter.by_thread("read-ahead") == {"RunQuery": 1, "BatchGetDocuments": 1}, counter.by_thread("read-ahead")
    assert counter.by_thread("pause-query") == {}, counter.by_thread("pause-query")


def _engage(world, key: str, target: str | None) -> None:
    """A switch as `runwarden pause`/`kill` leaves it (shared/commands/pause.py `_switch`)."""
    from shared.remediation.records import FLAGS

    world.state.put_record(FLAGS, key, {"kind": "pause" if target else "kill_switch", "target": target,
                                        "engaged": True, "by": "alice@example.com", "reason": "maintenance",
                                        "at": world.clock.now()})


@pytest.mark.parametrize("switch", ["kill_switch", "service_paused"])
def test_a_connector_write_the_switches_alone_brake_sends_no_pause_query(world, counter, switch):
    """The kill switch, or a pause of the service whose alert asks for the connector's scale, holds the write back
    whatever the query of the engaged pauses would add (a pause of the connector by another form of its project:
    `paused_otherwise`). The service's reads ahead, sent at the start, have shown the switch by the time the plan
    scales the connector (after the evidence), so the connector's reads ahead go without the query; the gate's
    batch for the connector reads the switch again, and holds the write with no query. Before, the query was sent
    beside that batch, its answer never read: one RunQuery on the pause query's thread."""
    from shared.remediation.guardrails import pause_key
    from shared.remediation.records import KILL_SWITCH
    from tests.integration.world import SERVICE

    world.seed("connector_saturation")
    _engage(world, *((KILL_SWITCH, None) if switch == "kill_switch" else (pause_key(SERVICE), SERVICE)))
    counter.reset()

    outcome = world.handle(world.alert("connector_saturation", message_id="1"))

    assert outcome.status.value == "skipped" and "maintenance" in outcome.reason, outcome.reason
    assert world.writes() == 0
    assert counter.by_thread("pause-query") == {}, counter.by_thread("pause-query")
    # The connector's batch still goes ahead (the switches read again, as fresh as the write needs them).
    assert counter.by_thread("read-ahead") == {"RunQuery": 1, "BatchGetDocuments": 2}, counter.by_thread("read-ahead")


@pytest.mark.parametrize("stop", ["approval", "require_label", "policy_label"])
def test_a_connector_plan_stopped_before_the_gate_reads_nothing_ahead_for_the_connector(
        standin_env, firestore, pubsub, project_id, anchor, counter, stop):
    """A scale of the connector that a check needing no state stops before the gate reads anything: a person must
    approve it (the connector's policy does not allow_one_way, the default: `plan_refusal`), the service lacks the
    label runwarden=enabled (`guardrails.require_label`), or the alert policy's user label holds it (`policy_held`).
    Before, the gate's batch for the connector and its pause query went out as soon as the plan scaled it
    (`_ReadAhead.connector`), read by nothing: one BatchGetDocuments on the read-ahead's thread, one RunQuery on
    the pause query's."""
    import json

    from tests.integration.world import event

    config: dict = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": stop != "approval"}]}}
    if stop == "require_label":
        config["guardrails"] = {"require_label": True}
    world = World(standin_env, pubsub, project_id, anchor, **config)
    world.state = world.adapters.state = CountingStateStore(counter, project_id)
    scenario = world.seed("connector_saturation") if stop != "require_label" else None
    if scenario is None:   # the same world, its service without runwarden=enabled
        from sandbox.scenarios import resolve_scenario, seed

        scenario = resolve_scenario("connector_saturation")
        seed(world.standins, scenario.model_copy(update={"services": tuple(
            service.model_copy(update={"labels": {}}) for service in scenario.services)}), world.anchor)
        world.clock.set(world.anchor + scenario.delivered)
    notification = _notification(world)
    if stop == "policy_label":
        notification["incident"]["policy_user_labels"] = {"runwarden": "off"}
    counter.reset()

    outcome = world.handle(event(json.dumps(notification).encode(), "1"))

    expected = {"approval": "proposed", "require_label": "skipped", "policy_label": "escalated"}[stop]
    assert outcome.status.value == expected, outcome.reason
    assert outcome.diagnosis.signature == "connector_saturation" and world.writes() == 0
    # The service's reads ahead alone: its action records and the gate's batch of its keys.
    assert counter.by_thread("read-ahead") == {"RunQuery": 1, "BatchGetDocuments": 1}, counter.by_thread("read-ahead")
    assert counter.by_thread("pause-query") == {}, counter.by_thread("pause-query")


def test_an_incident_known_only_by_its_action_record_is_still_a_duplicate(world, counter):
    """The batched read finds nothing of the incident (its record, its SETTLED entries and its claims gone: a claim
    whose retention lapsed, state pruned by hand), and its action record stands: the query of the incident's action
    records, sent beside the evidence for such a delivery (`_AlertRun.duplicate_beside`), still answers it as acted
    on before anything is decided, and nothing is written twice."""
    from shared.gcp.firestore import FirestoreStateStore

    world.seed("bad_revision")
    assert world.handle(world.alert(message_id="1")).status.value == "applied"
    client = FirestoreStateStore._firestore(world.state)
    for kind in ("incidents", "settled", "claims"):
        for document in client.collection(f"runwarden_{kind}").stream():
            document.reference.delete()
    world.adapters.settled = type(world.adapters.settled)()
    counter.reset()

    second = world.handle(world.alert(message_id="2"))   # Monitoring notifies the incident again

    assert second.status.value == "skipped" and second.reason.startswith("duplicate"), second.reason
    assert world.writes() == 1
    assert counter.by_method()["RunQuery"] >= 1 and counter.by_method().get("Commit", 0) <= 1, counter.by_method()


def test_a_connector_alerts_first_answer_waits_for_no_query_of_the_incident(standin_env, firestore, pubsub,
                                                                           project_id, anchor, counter):
    """A connector's own alert (`for_shared`) that the batched read finds nothing of: the query of the incident's
    action records runs beside its users' evidence (`_AlertRun.duplicate_beside`), not before it on the handler's
    thread (the round trip it waited for before its users were even listed)."""
    from sandbox.scenarios import resolve_scenario

    scenario = resolve_scenario("connector_alert_shared")
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.state = world.adapters.state = CountingStateStore(counter, project_id)
    world.seed("connector_alert_shared")

    outcome = world.handle(world.alert("connector_alert_shared"))

    assert outcome.status.value == "proposed", outcome.reason
    assert counter.by_thread("incident-actions") == {"RunQuery": 1}, counter.by_thread("incident-actions")
    # The handler's thread queries after the evidence only: the service's action records (`act`: a fix verified or
    # undone lately) and the connector's (the gate: a write of it in flight), and, the change proposed, the open
    # proposals of the same target (Gate._proposed_beside: another incident's proposal of the same scale is named).
    # Before, the incident's came first as well: 4.
    assert counter.by_thread("MainThread").get("RunQuery", 0) == 3, counter.by_thread("MainThread")


def test_a_signature_back_after_a_verified_fix_reads_no_gate_batch_ahead(world, counter):
    """The service's action records, read ahead while the evidence is read, hold a fix verified within the
    recurrence window: the plan may be stopped by it (`recent_verified_fix`), so the gate's batch for the service
    is not sent behind them (`history.may_stop_a_write`); it was, one BatchGetDocuments read by nothing."""
    from tests.integration.test_remediation import signature_back_after_a_verified_fix

    world.seed("bad_revision")
    assert world.handle(world.alert()).status.value == "applied"
    counter.reset()

    again = signature_back_after_a_verified_fix(world)

    assert again.status.value == "escalated" and "came back after rollback_traffic was verified" in again.reason
    assert world.writes() == 1
    assert counter.by_thread("read-ahead") == {"RunQuery": 1}, counter.by_thread("read-ahead")


def _notification(world) -> dict:
    from sandbox.scenarios import resolve_scenario

    return resolve_scenario("connector_saturation").notification(world.anchor)


def _forget_settled(world) -> None:
    """State as a version before the SETTLED entries left it: every incident's record of them deleted."""
    from shared.gcp.firestore import FirestoreStateStore

    client = FirestoreStateStore._firestore(world.state)
    for document in client.collection("runwarden_settled").stream():
        document.reference.delete()


@pytest.mark.parametrize("scenario,expected", [
    # The claim on the alert's own target is read anyway; this message's intent needs the query to
    # tell that its action was recorded.
    ("bad_revision", {"BatchGetDocuments": 1, "RunQuery": 1}),
    # The claim on the connector: the query names it, and one more batched read reads it.
    ("connector_saturation", {"BatchGetDocuments": 2, "RunQuery": 1}),
])
def test_state_from_before_the_settled_entries_is_read_as_before(world, counter, scenario, expected):
    world.seed(scenario)
    first = world.handle(world.alert(scenario, message_id="1"))
    assert first.status.value == "applied", first.reason
    _forget_settled(world)
    counter.reset()

    second = world.handle(world.alert(scenario, message_id="1"))

    assert second.status.value == "skipped" and second.reason.startswith("duplicate"), second.reason
    assert counter.by_method() == expected


# After `verified` the answer is escalated, told once per message (publish_once): its own record read and written,
# a BatchGetDocuments and two Commits that any escalation of a message costs.
TOLD_ONCE = {"BatchGetDocuments": 1, "Commit": 2}


# Before its verdict the record keeps none, which may also mean a judge of the version before moved the action record
# alone: only the query tells (`_AlertRun.judged_since`), the second round trip (goal 3: at most 2).
NOT_YET = {"RunQuery": 1}


@pytest.mark.parametrize("verdict,status,told", [("pending", "skipped", NOT_YET), ("verified", "escalated", TOLD_ONCE),
                                                 ("undone", "skipped", {})])
@pytest.mark.parametrize("fresh", [True, False], ids=["fresh instance", "remembering instance"])
def test_another_message_after_settle_reads_the_sweeps_verdict_with_the_settled_entry(world, counter, verdict, status,
                                                                                      told, fresh):
    """Another message of the incident after settle_seconds asks whether the sweep has judged the action
    (`_AlertRun.judged_since`: after `verified` a person hears that Monitoring still holds the incident open).
    The verdict is kept in the incident's SETTLED record by the very commit that judges it (settled.write_verdict),
    so the one batched read a fresh instance makes anyway answers it, and a remembering instance reads that one
    record. Before, the query of the incident's action records came on top: a fresh instance's BatchGetDocuments
    then RunQuery, a remembering one's RunQuery (docs/performance.md, "A duplicate, case by case")."""
    from shared.remediation.settled import SettledIncidents

    world.seed("bad_revision")
    assert world.handle(world.alert(message_id="1")).status.value == "applied"
    world.handle(world.alert(message_id="1"))   # the completed claim is remembered
    judged(world, verdict, then=30)   # past the deadline too, and well past the sweep's own restore claim
    if fresh:
        world.adapters.settled = SettledIncidents()
    counter.reset()

    reminder = world.handle(world.alert(message_id="2"))   # Monitoring notifies the incident again

    assert reminder.status.value == status, reminder.reason
    assert counter.by_method() == {"BatchGetDocuments": 1 + told.get("BatchGetDocuments", 0),
                                   **{method: n for method, n in told.items() if method != "BatchGetDocuments"}}


def test_a_settled_entry_from_before_verdicts_were_kept_asks_the_action_records_as_before(world, counter):
    """An entry written by the version before (no `verdicts` mark): whether the sweep judged the action is asked
    of the action records, as before: the batched read, then the query (the same answer: test_renotified_after_verdict)."""
    from shared.remediation.settled import SettledIncidents

    world.seed("bad_revision")
    assert world.handle(world.alert(message_id="1")).status.value == "applied"
    judged(world, "verified", then=30)
    _as_written_before(world)
    world.adapters.settled = SettledIncidents()
    counter.reset()

    reminder = world.handle(world.alert(message_id="2"))

    assert reminder.status.value == "escalated", reminder.reason
    assert counter.by_method() == {"BatchGetDocuments": 2, "RunQuery": 1, "Commit": 2}   # TOLD_ONCE, and the query


def _as_written_before(world) -> None:
    """State as the version before verdicts were kept in SETTLED left it: no verdict fields, no `verdicts` marks."""
    from tests.integration.test_renotified_after_verdict import as_written_before

    as_written_before(world)


class _FirstWrite:
    """The Run adapter, noting the Firestore calls made by the moment the first write is sent."""

    def __init__(self, run, counter: RpcCounter) -> None:
        self.run, self.counter, self.before, self.ahead, self.check, self.intent = run, counter, None, None, None, None
        self.handler = self.beside = None

    def __getattr__(self, name):
        return getattr(self.run, name)

    def set_traffic(self, *args, **kwargs):
        if self.before is None:
            self.before, self.ahead = self.counter.by_method(), self.counter.by_thread("read-ahead")
            self.check = self.counter.by_thread("gate-check")
            self.intent = self.counter.by_thread("gate-intent")
            self.handler = self.counter.by_thread("MainThread")
            self.beside = self.counter.by_thread("incident-actions")
        return self.run.set_traffic(*args, **kwargs)


def test_the_first_write_takes_its_claim_cooldown_and_budgets_in_one_commit(world, counter):
    world.seed("bad_revision")
    world.adapters.run = run = _FirstWrite(world.adapters.run, counter)

    outcome = world.handle(world.alert(message_id="1"))

    assert outcome.status.value == "applied", outcome.reason
    # Before diagnosis: one batched read of its record, what settled its actions, the message's
    # intent and the claims on the service (no entry answers a first delivery), then the query for
    # the incident's action records. While the evidence is read, on a thread of its own: the service's action
    # records (a query) and the gate's reads (switches, cooldown, every budget slot: one batched
    # read). Then one commit creates the claim, the cooldown, the target's write claim and a slot of
    # each of the three budgets while, at the same time, one batched read checks the switches and the incident and,
    # on a third thread, one commit creates the intent (what is about to be written: intents.py)
    # only if there is none at its key: another attempt's plan that may still be live is never
    # replaced (Gate._note_intent), and it is read only when the create finds one.
    # One of the commits: the incident's record, created on a thread of its own while the evidence is read
    # and waited for before anything is decided (its OPEN seen: history.note_seen).
    assert run.before == {"RunQuery": 2, "BatchGetDocuments": 3, "Commit": 3}, run.before
    assert run.ahead == {"RunQuery": 1, "BatchGetDocuments": 1}, run.ahead
    assert run.check == {"BatchGetDocuments": 1}, run.check
    assert run.intent == {"Commit": 1}, run.intent
    # So the handler itself waits for two round trips, one after another: the batched read, then the gate's commit
    # (the intent's commit and the check run beside it). The query of the incident's action records goes out on a
    # thread of its own once the batched read has found nothing of the incident (`_AlertRun.duplicate_beside`), and
    # runs beside the evidence; before, the handler waited for it between the two (three one after another).
    assert run.handler == {"BatchGetDocuments": 1, "Commit": 1}, run.handler
    assert run.beside == {"RunQuery": 1}, run.beside
    # After it, one commit and no read: the claim completed (an update guarded by the update time its
    # create answered with), the action record, the pin and what settled the incident; beside it, on
    # a thread of its own, one commit and no read: the target's write claim given back (a delete
    # guarded by the update time its create answered with); and, on another, one batched read: the switches
    # read again, so that a brake engaged while the write was under way is named in its answer
    # (`Gate._landed_meanwhile`). Neither is waited for beyond the commit that records the write.
    assert counter.by_method() == {"RunQuery": 2, "BatchGetDocuments": 4, "Commit": 5}
    from shared.remediation.guardrails import WRITING
    assert world.state.get(WRITING, "projects/demo-project/locations/us-central1/services/backend") is None


def test_a_taken_cooldown_falls_back_to_one_claim_at_a_time_and_says_why(world, counter):
    from shared.remediation.guardrails import COOLDOWNS

    world.seed("bad_revision")
    world.state.claim(COOLDOWNS, "projects/demo-project/locations/us-central1/services/backend", "earlier",
                      timedelta(hours=1), world.clock.now())
    counter.reset()

    outcome = world.handle(world.alert(message_id="1"))

    assert outcome.status.value == "skipped" and outcome.reason.startswith("cooldown:"), outcome.reason
    assert world.writes() == 0
    # The read showed the cooldown taken, so no commit of everything: the claim alone (a duplicate
    # must say so rather than "cooldown"), the cooldown's create refused, and the claim given back; and the
    # incident's record, its OPEN seen (history.note_seen); and the message kept as held back, so that its
    # delivery again once the cooldown has ended writes nothing (shared/remediation/held_messages.py).
    assert counter.by_method()["Commit"] == 5


def test_later_deliveries_are_answered_from_memory_with_no_firestore_call(world, counter):
    world.seed("bad_revision")
    assert world.handle(world.alert(message_id="1")).status.value == "applied"
    second = world.handle(world.alert(message_id="1"))   # read: the completed claim is remembered
    counter.reset()

    third = world.handle(world.alert(message_id="1"))
    fourth = world.handle(world.alert(message_id="2"))   # a repeated notification: a new message id

    assert counter.by_method() == {}
    assert [(o.status.value, o.reason, o.target) for o in (third, fourth)] == [
        (second.status.value, second.reason, second.target)] * 2
    assert [o["status"] for o in world.published(4)] == ["applied", "skipped", "skipped", "skipped"]


def test_a_closed_incident_is_forgotten_and_answered_from_state(world, counter):
    world.seed("bad_revision")
    assert world.handle(world.alert(message_id="1")).status.value == "applied"
    world.handle(world.alert(message_id="1"))
    world.handle(world.alert(message_id="c", state="closed"))
    counter.reset()

    again = world.handle(world.alert(message_id="1"))

    assert again.status.value == "skipped" and "already closed" in again.reason, again.reason
    assert counter.by_method() == {"BatchGetDocuments": 1}


def test_another_instance_reads_state_once_then_remembers(world, counter):
    from shared.remediation.settled import SettledIncidents

    world.seed("bad_revision")
    assert world.handle(world.alert(message_id="1")).status.value == "applied"
    world.adapters.settled = SettledIncidents()   # a fresh instance: nothing remembered
    counter.reset()

    world.handle(world.alert(message_id="1"))
    world.handle(world.alert(message_id="1"))

    assert counter.by_method() == {"BatchGetDocuments": 1}


# --------------------------------------------------------------------------- budgets

def _gate(store, project_id: str, owner: str, **guardrails):
    from shared.clock import FixedClock
    from shared.config import parse_config
    from shared.remediation.guardrails import Gate

    config = parse_config({"project": project_id, "mode": "enforce", "outcomes_topic": "projects/p/topics/outcomes",
                           "services": [], "guardrails": guardrails})
    return Gate(config, store, FixedClock(NOW), owner=owner)


NOW = datetime(2026, 11, 26, 12, 30, tzinfo=timezone.utc)
BUCKET = "global|2026-11-26T12"


@pytest.mark.parametrize("taken", [0, 1, 7, 39])
def test_a_budget_slot_costs_the_same_round_trips_however_many_are_taken(firestore, project_id, counter, taken):
    store = CountingStateStore(counter, project_id)
    for i in range(taken):
        assert _gate(store, project_id, f"earlier-{i}")._take_slot(BUCKET, 40, NOW)
    counter.reset()

    slot = _gate(store, project_id, "now")._take_slot(BUCKET, 40, NOW)

    assert slot == f"{BUCKET}#{taken}"
    assert counter.by_method() == {"BatchGetDocuments": 1, "Commit": 1}


def test_a_spent_budget_is_one_read(firestore, project_id, counter):
    store = CountingStateStore(counter, project_id)
    for i in range(5):
        assert _gate(store, project_id, f"earlier-{i}")._take_slot(BUCKET, 5, NOW)
    counter.reset()

    assert _gate(store, project_id, "late")._take_slot(BUCKET, 5, NOW) is None
    assert counter.by_method() == {"BatchGetDocuments": 1}


def test_an_expired_slot_is_taken_over(firestore, project_id):
    store = FirestoreStateStore(project_id)
    store.claim(BUDGETS, f"{BUCKET}#0", "long-ago", timedelta(seconds=1), NOW - timedelta(days=3))
    assert _gate(store, project_id, "now")._take_slot(BUCKET, 1, NOW) == f"{BUCKET}#0"


@pytest.mark.parametrize("taken", [0, 1, 7, 39])
def test_claim_cooldown_and_budgets_cost_one_read_and_one_commit_however_many_slots_are_taken(
        firestore, project_id, counter, taken):
    from shared.remediation.actions import get_action

    store = CountingStateStore(counter, project_id)
    for i in range(taken):
        assert _gate(store, project_id, f"earlier-{i}", max_actions_per_hour=40)._take_slot(BUCKET, 40, NOW)
    gate = _gate(store, project_id, "now", max_actions_per_hour=40)
    target = "projects/demo-project/locations/us-central1/services/backend"
    counter.reset()

    held = gate._take_all(get_action("rollback_traffic"), target, "inc|t|a", NOW, gate.read_ahead(target, NOW).found)

    assert held is not None and held.slots[-1] == f"{BUCKET}#{taken}" and held.cooldown == target
    assert counter.by_method() == {"BatchGetDocuments": 1, "Commit": 1}


@pytest.mark.parametrize("capacity,taken", [(3, 0), (4, 2)])
def test_racing_instances_never_take_more_than_the_budget(firestore, project_id, capacity, taken):
    for i in range(taken):
        _gate(FirestoreStateStore(project_id), project_id, f"earlier-{i}")._take_slot(BUCKET, capacity, NOW)
    racers = [_gate(FirestoreStateStore(project_id), project_id, f"racer-{i}") for i in range(8)]
    barrier = threading.Barrier(len(racers))

    def take(gate):
        barrier.wait()
        return gate._take_slot(BUCKET, capacity, NOW)

    slots, errors = concurrently(*(lambda g=g: take(g) for g in racers))

    assert errors == []
    won = [s for s in slots if s is not None]
    assert len(won) == capacity - taken and len(set(won)) == len(won), slots
    holders = [FirestoreStateStore(project_id).get(BUDGETS, f"{BUCKET}#{i}") for i in range(capacity)]
    assert all(h is not None for h in holders)


def test_a_command_resend_reads_its_intent_action_record_and_gate_claim_in_one_round_trip(world, counter):
    """shared/commands/recovery.py: a resend of an operator's rollback, already answered, costs its
    claim's commit (which finds the first answer) and one batched read, however its earlier attempt
    ended; nothing else."""
    import json

    from shared.commands import handle_command
    from tests.integration.world import SERVICE, event

    world.seed("bad_revision")
    body = {"command": "rollback_traffic", "command_id": "rt-1", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"revision": "backend-00001-abc"}, "reason": "bad deploy"}
    [first] = handle_command(event(json.dumps(body).encode(), "m-1"), world.config, world.adapters)
    assert first.status.value == "applied", first.reason
    counter.reset()

    [again] = handle_command(event(json.dumps(body).encode(), "m-2"), world.config, world.adapters)

    assert again.status.value == "skipped" and again.reason.startswith("duplicate"), again.reason
    # The claim's create (Commit), refused as the document exists, and its read of the first answer;
    # then the intent, the action record and the gate's claim, in one BatchGetDocuments.
    assert counter.by_method() == {"Commit": 1, "BatchGetDocuments": 2}


def test_a_service_alerts_scale_of_a_shared_connector_reads_its_peers_once_and_nothing_ahead_when_held(
        standin_env, firestore, pubsub, project_id, anchor, counter):
    """ledger's 5xx alert blames fin-conn, which statements (managed, busy, clean) uses too. The peers' read
    (scope.service_peers_held) costs, per other managed service, its GetService and its ListRevisions (users_of,
    one after the other: two round trips; the peers' at once), and for each behind the connector one concurrent
    round of its request
    metrics (collect with its service as read: no second GetService, no logs, no connector read): three evidence
    round trips for one peer, on the stand-ins' count 2 Cloud Run calls and 3 Monitoring calls. Held, the scale is
    never planned, so the connector's gate reads (`_ReadAhead.connector`) are not sent: no Firestore call is added."""
    from sandbox.scenarios import resolve_scenario

    name = "service_alert_saturation_busy_clean_peer_shared_connector"
    alone = World.for_scenario(resolve_scenario(name), standin_env, pubsub, project_id, anchor)
    alone.config = alone.config.model_copy(update={"services": alone.config.services[:1]})
    alone.state = alone.adapters.state = CountingStateStore(counter, project_id)
    alone.seed(name)
    assert alone.handle(alone.alert(name, incident_id="alone")).status.value == "proposed"
    run, revisions = standin_env.run.count("GetService"), standin_env.run.count("ListRevisions")
    monitoring = len(standin_env.monitoring.calls)
    world = World.for_scenario(resolve_scenario(name), standin_env, pubsub, project_id, anchor)
    world.state = world.adapters.state = CountingStateStore(counter, project_id)
    counter.reset()

    outcome = world.handle(world.alert(name, message_id="2", incident_id="both"))

    assert (outcome.status.value, outcome.diagnosis.signature) == ("escalated", "inconclusive"), outcome.reason
    assert standin_env.run.count("GetService") - run == 2      # ledger's own, and statements' by users_of
    assert standin_env.run.count("ListRevisions") - revisions == 2
    peer = len(standin_env.monitoring.calls) - 2 * monitoring   # ledger's own reads again, then statements'
    assert peer == 3, peer
    assert counter.by_thread("pause-query") == {}, counter.by_thread("pause-query")


def test_three_peers_cost_three_times_one_peers_calls_and_no_round_trip_more(
        standin_env, firestore, pubsub, project_id, anchor, counter):
    """statements copied twice (payments, reports), all three busy and clean behind fin-conn: each peer is read once,
    its calls as one peer's (GetService, ListRevisions, 3 Monitoring calls), 15 in all, and the three peers'
    calls of each kind meet at the stand-ins (Faults.meet: made at once), so the round trips are one peer's three.
    No Firestore call is added (held, the scale is never planned)."""
    from sandbox.scenarios import resolve_scenario, seed, with_copies

    name = "service_alert_saturation_busy_clean_peer_shared_connector"
    peers = ("statements", "payments", "reports")
    scenario = with_copies(resolve_scenario(name), "statements", peers[1:])
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.state = world.adapters.state = CountingStateStore(counter, project_id)
    seed(standin_env, scenario, anchor)
    named = tuple(f"services/{peer}" for peer in peers)
    standin_env.run.faults.meet("GetService", named)
    standin_env.run.faults.meet("ListRevisions", named)
    counter.reset()

    outcome = world.handle(world.alert(name, message_id="3", incident_id="three"))

    assert (outcome.status.value, outcome.diagnosis.signature) == ("escalated", "inconclusive"), outcome.reason
    assert standin_env.run.count("GetService") == standin_env.run.count("ListRevisions") == 1 + len(peers)
    for peer in peers:
        its = [c for c in standin_env.monitoring.calls if f'service_name = "{peer}"' in c.request.filter]
        assert len(its) == 3, (peer, len(its))
    assert counter.by_thread("pause-query") == {}, counter.by_thread("pause-query")
