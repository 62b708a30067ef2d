"""The sweep's backstop for an alert's write that no attempt recorded, on the emulators and stand-ins
(shared/remediation/intents.py, verification.py).

The attempt writes (Cloud Run's UpdateService, on the stand-in) and dies before its one commit
after the write (the claim's completion, the action record, the intent closed). Its message is then
never delivered again: dead-lettered, as a subscription with few `max_delivery_attempts` does while
the claim is still held. Nothing but the sweep can record the change for verification and tell a
person. And when a redelivery does come at the same time as the sweep, exactly one of them reports it.
"""
from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from shared.clock import FixedClock, skew_safe_lease
from shared.errors import AttemptInProgress
from shared.remediation.guardrails import CLAIMS, Gate, claim_key
from shared.remediation.intents import SWEEP_MARGIN
from shared.remediation.records import ACTIONS, INTENTS, PINS, SETTLED, IntentRecord, IntentState, intent_key
from shared.remediation.settled import SettledState
from sandbox.standins.run import TrafficSeed
from tests.integration.world import SERVICE, World, concurrently

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
MESSAGE = "m-died"


class Died(BaseException):
    """The instance is gone: nothing after the write runs (no record, no give-back, no answer)."""


class DiesAfterTheWrite:
    """The real FirestoreStateStore, but the attempt dies where it would record its write."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def record_all(self, *args: Any, **kwargs: Any) -> bool:
        raise Died()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor) -> World:
    world = World(standin_env, pubsub, project_id, anchor)
    world.seed("bad_revision")
    return world


def _died_after_its_write(world: World) -> str:
    """An alert's attempt that rolls back, then dies; returns the incident id."""
    alert = world.alert(message_id=MESSAGE)
    adapters = world.adapters
    world.adapters = dataclasses.replace(adapters, state=DiesAfterTheWrite(world.state))
    with pytest.raises(Died):
        world.handle(alert)
    world.adapters = adapters
    assert world.standins.run.count("UpdateService") == 1 and world.serving() == {OLD: 100}
    [intent] = world.state.find_records(INTENTS, "state", "open")
    assert world.state.find_records(ACTIONS, "service", SERVICE) == []
    return intent["incident_id"]


def _lapsed(world: World) -> None:
    """Past the claim's lease (its TTL plus the skew allowance) and the sweep's margin."""
    lease = skew_safe_lease(world.config.guardrails.claim_ttl_seconds)
    world.clock.set(world.clock.now() + lease + SWEEP_MARGIN + timedelta(seconds=1))


def _escalations(outcomes: list[Any], incident_id: str) -> list[Any]:
    return [o for o in outcomes if o is not None and o.incident_id == incident_id and o.status.value == "escalated"]


def test_a_write_whose_message_was_dead_lettered_is_recorded_and_reported_by_the_sweep_once(world):
    incident_id = _died_after_its_write(world)
    key = claim_key(incident_id, SERVICE, "rollback_traffic")

    # Before its claim's lease lapses the attempt might still be running: the sweep leaves it be.
    world.clock.set(world.clock.now() + timedelta(minutes=5))
    assert world.command({"command": "sweep"}) == []
    assert world.state.get_record(ACTIONS, key) is None

    _lapsed(world)
    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and outcome.incident_id == incident_id, outcome.reason
    assert "now shows the planned change" in outcome.reason and "not written again" in outcome.reason
    assert outcome.action.action_id == key and outcome.action.after is not None
    [published] = world.published()
    assert published["status"] == "escalated" and published["outcome_id"] == outcome.outcome_id
    record = world.state.get_record(ACTIONS, key)
    assert record["state"] == "pending" and record["before"]["traffic"][0]["revision"] == NEW
    assert world.state.get(CLAIMS, key).status.value == "completed"
    assert world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))["state"] == "recorded"
    assert world.standins.run.count("UpdateService") == 1   # nothing written again

    world.clock.set(world.clock.now() + timedelta(seconds=30))
    assert world.command({"command": "sweep"}) == []           # reported once


def test_a_write_that_a_person_reverted_is_closed_and_one_overtaken_is_escalated_once(world):
    """The rollback took, then a person split the traffic (the service two generations past the plan):
    recorded, closed `escalated` (never verified or undone, no pin), reported as taken over, once."""
    incident_id = _died_after_its_write(world)
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])
    _lapsed(world)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "taken the target over" in outcome.reason, outcome.reason
    assert world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))["state"] == "recorded"
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert record["state"] == "escalated" and record["note"].startswith("superseded"), record
    # Written judged: its verdict is in the incident's SETTLED record from that very commit (settled.py).
    kept = SettledState.parse(world.state.get_record(SETTLED, incident_id))
    assert kept.keeps_verdicts() and [(v.key, v.state.value, v.resolved_at) for v in kept.verdicts] == [
        (record["key"], "escalated", record["resolved_at"])]
    assert world.state.get_record(PINS, SERVICE) is None
    world.clock.set(world.clock.now() + timedelta(seconds=30))
    assert world.command({"command": "sweep"}) == []


@pytest.mark.parametrize("target_after", ["planned", "neither"])
def test_a_redelivery_and_the_sweep_at_once_report_the_write_exactly_once(world, target_after):
    incident_id = _died_after_its_write(world)
    if target_after == "neither":
        world.standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])
    _lapsed(world)
    redelivered = world.alert(message_id=MESSAGE)

    results, errors = concurrently(lambda: [world.handle(redelivered)],
                                   lambda: world.command({"command": "sweep"}))

    assert errors == []
    outcomes = [o for result in results for o in result]
    assert len(_escalations(outcomes, incident_id)) == 1, [(o.status.value, o.reason) for o in outcomes]
    others = [o for o in outcomes if o.incident_id == incident_id and o.status.value != "escalated"]
    assert all(o.status.value == "skipped" and o.reason.startswith("duplicate") for o in others), \
        [(o.status.value, o.reason) for o in others]
    assert world.standins.run.count("UpdateService") == 1
    [recorded] = world.state.find_records(ACTIONS, "service", SERVICE)
    # Changed by a person after the write (two generations past the plan): recorded, closed escalated.
    assert recorded["state"] == ("pending" if target_after == "planned" else "escalated"), recorded
    # Neither a later sweep nor a later redelivery reports it again.
    world.clock.set(world.clock.now() + timedelta(seconds=30))
    assert _escalations(world.command({"command": "sweep"}), incident_id) == []
    assert world.handle(world.alert(message_id=MESSAGE)).status.value == "skipped"


def test_a_sweep_whose_recording_failed_leaves_the_write_to_the_sweep_past_its_claim_and_it_is_told_once(world):
    """The sweep takes over the lapsed claim to record the write, and that commit fails (Firestore unavailable): the
    sweep defers it without raising (its other steps' outcomes must still go out), the intent stays open and the
    claim stays the sweep's until its lease lapses. The message's redelivery within that lease answers a duplicate
    of the claim and leaves the intent as it is (its void is guarded on its own plan); a sweep within the lease
    leaves it to the claim's holder; the first sweep past it records the write and tells a person, once."""
    incident_id, key, claim, faulty = _a_sweeps_record_failed(world)
    assert [(method, lost) for method, _, lost in faulty.injected] == [("record_all", False)]
    intent = intent_key(incident_id, MESSAGE)
    assert world.state.get_record(INTENTS, intent)["state"] == "open"
    assert world.state.get_record(ACTIONS, key) is None

    redelivered = world.handle(world.alert(message_id=MESSAGE))
    assert redelivered.status.value == "skipped" and redelivered.reason.startswith("duplicate"), redelivered.reason
    _names_the_held_write(redelivered.reason, claim)
    assert redelivered.held.value == "claim_held"
    world.clock.set(world.clock.now() + timedelta(minutes=1))
    assert world.command({"command": "sweep"}) == []        # the claim is still the failed sweep's
    assert world.state.get_record(INTENTS, intent)["state"] == "open"

    _lapsed(world)
    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "Recorded now" in outcome.reason, outcome.reason
    assert outcome.incident_id == incident_id and outcome.action.action_id == key
    assert world.state.get_record(ACTIONS, key)["state"] == "pending"
    assert world.state.get_record(INTENTS, intent)["state"] == "recorded"
    assert [p["outcome_id"] for p in world.published(2) if p["status"] == "escalated"] == [outcome.outcome_id]
    world.clock.set(world.clock.now() + timedelta(seconds=30))
    assert _escalations(world.command({"command": "sweep"}), incident_id) == []
    assert world.standins.run.count("UpdateService") == 1


def _a_sweeps_record_failed(world: Any) -> tuple[str, str, Any, Any]:
    """A rollback written and not recorded, its claim lapsed, and the sweep that took the claim over to record the
    write failing that commit (Firestore DEADLINE_EXCEEDED): deferred, not raised, the claim still the sweep's.
    Returns the incident, the claim's key, the claim as stored, and the faulty store (what it injected)."""
    from tests.unit.fakes import FaultyStateStore

    incident_id = _died_after_its_write(world)
    key = claim_key(incident_id, SERVICE, "rollback_traffic")
    _lapsed(world)
    adapters, faulty = world.adapters, FaultyStateStore(world.state)
    world.adapters = dataclasses.replace(adapters, state=faulty)
    faulty.fail_next("write", 1, "DEADLINE_EXCEEDED", method="record_all")
    assert world.command({"command": "sweep"}) == []        # deferred, not raised
    world.adapters = adapters
    claim = world.state.get(CLAIMS, key)
    assert claim.owner.startswith("sweep:") and claim.status.value == "claimed", claim
    return incident_id, key, claim, faulty


def _names_the_held_write(reason: str, claim: Any) -> None:
    """A duplicate of a claim a sweep holds to record an unrecorded write names that write (what, on which target,
    planned when and by which attempt), who holds the claim, and when the sweep past it reports it."""
    for words in ("the claim holds a write that may have been made and is not recorded yet: rollback_traffic on "
                  f"{SERVICE}: traffic ", f"planned by {MESSAGE}:", f"{claim.owner} took the claim over at",
                  f"the first verification sweep after {claim.expires_at:%Y-%m-%d %H:%M:%S} UTC",
                  "gcloud run services describe backend"):
        assert words in reason, (words, reason)


def test_another_notification_within_a_failed_sweeps_claim_names_the_write_it_holds(world):
    """Not the message that wrote: a re-notification of the incident (another message id, which has no plan of its
    own) arriving while the sweep that took the claim over to record the write holds it after its record failed.
    Its duplicate reads the claim's plans (one query, only for a claim not completed) and names the write too."""
    _, _, claim, _ = _a_sweeps_record_failed(world)

    renotified = world.handle(world.alert(message_id="m-renotified"))

    assert renotified.status.value == "skipped" and renotified.reason.startswith("duplicate"), renotified.reason
    _names_the_held_write(renotified.reason, claim)
    assert world.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("first", ["redelivery", "sweep"])
def test_when_both_saw_the_intent_unrecorded_the_first_to_record_reports_it(world, first):
    """The interleaving the race above may or may not hit: both read the intent, its claim and the
    target before either writes; then they record one after the other. The second finds the action
    record created (Firestore's create precondition fails its whole commit) and writes nothing."""
    from shared.remediation import intents
    from shared.remediation.actions import get_action
    from shared.remediation.guardrails import Gate
    from shared.remediation.records import IntentRecord

    incident_id = _died_after_its_write(world)
    _lapsed(world)
    intent = IntentRecord.model_validate(world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE)))
    action, now = get_action(intent.action), world.clock.now()
    gates = {"redelivery": Gate(world.config, world.state, world.clock, f"{MESSAGE}:late", message_id=MESSAGE),
             "sweep": Gate(world.config, world.state, world.clock, "sweep:test")}
    claim = world.state.get(CLAIMS, intent.claim_key)
    found = {name: intents.look_swept(intent, False, claim, action, world.adapters, now) for name in gates}
    assert {f.verdict.value for f in found.values()} == {"record"}

    order = [first, *(name for name in gates if name != first)]
    answers = [intents.answer(found[name], intent, action, gates[name], "p", "e", "f") for name in order]

    assert [a.status.value for a in answers] == ["escalated", "skipped"], [a.reason for a in answers]
    record = world.state.get_record(ACTIONS, intent.claim_key)
    assert record["state"] == "pending"
    claim = world.state.get(CLAIMS, intent.claim_key)
    assert claim.status.value == "completed" and claim.owner == gates[first].owner
    assert world.state.get_record(INTENTS, intent.key)["closed_by"] == gates[first].owner


@pytest.mark.parametrize("adopter", ["redelivery", "sweep"])
def test_an_escalation_landing_between_the_adopters_read_and_its_commit_is_the_one_report(world, monkeypatch, adopter):
    """Two judges read the target a moment apart and disagree: the adopter found the planned change,
    the other judge neither. The other's escalation (`claim_escalation`, an update guarded by the
    intent's update time) lands after the adopter's store read the intent open and before its
    commit: the commit's update-time precondition on the intent fails it whole (nothing written),
    and the adopter, reading it again, finds it escalated and reports nothing."""
    from shared.remediation import intents
    from shared.remediation.actions import get_action
    from shared.remediation.guardrails import Gate
    from shared.remediation.records import IntentRecord

    incident_id = _died_after_its_write(world)
    _lapsed(world)
    intent_doc = world.state._name(INTENTS, intent_key(incident_id, MESSAGE))
    store, commit, escalated = world.state, world.state._commit_checked, []

    def escalated_first(writes):
        if not escalated and any(write.update.name == intent_doc for write in writes):
            read = IntentRecord.model_validate(store.get_record(INTENTS, intent_key(incident_id, MESSAGE)))
            escalated.append(intents.claim_escalation(store, read, "sweep:other", world.clock.now(), "shows neither"))
        return commit(writes)

    monkeypatch.setattr(store, "_commit_checked", escalated_first)
    if adopter == "sweep":
        reported = _escalations(world.command({"command": "sweep"}), incident_id)
    else:
        intent = IntentRecord.model_validate(store.get_record(INTENTS, intent_key(incident_id, MESSAGE)))
        action = get_action(intent.action)
        gate = Gate(world.config, store, world.clock, f"{MESSAGE}:late", message_id=MESSAGE)
        found = intents.look(intent, False, store.get(CLAIMS, intent.claim_key), action, world.adapters,
                             world.clock.now())
        assert found.verdict.value == "record"
        answer = intents.answer(found, intent, action, gate, "p", "e", "f")
        assert answer.status.value == "skipped" and answer.reason.startswith("duplicate"), answer.reason
        reported = []
    monkeypatch.undo()

    assert escalated == [True] and reported == []          # the escalation is the one report
    key = claim_key(incident_id, SERVICE, "rollback_traffic")
    assert world.state.get_record(ACTIONS, key) is None
    intent = world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))
    assert intent["state"] == "escalated" and intent["closed_by"] == "sweep:other"
    assert world.state.get(CLAIMS, key).status.value == "completed"   # as the other's answer: later ones are duplicates
    assert world.standins.run.count("UpdateService") == 1
    world.clock.set(world.clock.now() + timedelta(seconds=30))
    assert _escalations(world.command({"command": "sweep"}), incident_id) == []


def test_a_write_whose_intent_an_earlier_version_stored_without_a_state_is_recorded_once(world):
    """Upgrading with an unrecorded write in flight: an earlier version stored its intent with no
    `state`. Firestore's query on `state` cannot return a document that lacks the field; the sweep's
    walk by `noted_at` (a single-field range, no composite index) finds it, opens it, and the same
    sweep records and reports the write once."""
    incident_id = _died_after_its_write(world)
    key = intent_key(incident_id, MESSAGE)
    data = world.state.get_record(INTENTS, key)
    world.state.put_record(INTENTS, key, {k: v for k, v in data.items() if k not in ("state", "closed_at",
                                                                                      "closed_by", "note")})
    _lapsed(world)
    assert world.state.find_before(INTENTS, "state", "open", "noted_at", world.clock.now()) == []

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "now shows the planned change" in outcome.reason, outcome.reason
    assert world.state.get_record(INTENTS, key)["state"] == "recorded"
    assert world.state.get_record(ACTIONS, claim_key(incident_id, SERVICE, "rollback_traffic"))["state"] == "pending"
    assert world.standins.run.count("UpdateService") == 1
    world.clock.set(world.clock.now() + timedelta(seconds=30))
    assert world.command({"command": "sweep"}) == []


def test_an_intent_whose_attempt_was_killed_before_writing_never_takes_another_incidents_change(world):
    """Y stored its intent and was killed before its write; X, another incident's attempt, then made
    the very change Y planned and recorded it. The sweep finds Y's intent open, its claim absent and
    the target showing Y's plan: X's action record (a `target ==` query) owns the change, so Y's
    intent is escalated with that evidence, never recorded as Y's write."""
    from shared.remediation.records import IntentRecord

    alert = world.alert(message_id="m-x")
    assert world.handle(alert).status.value == "applied"
    [x_intent] = [IntentRecord.model_validate(d) for d in world.state.find_records(INTENTS, "state", "recorded")]
    y_key = claim_key("inc-y", SERVICE, "rollback_traffic")
    y = x_intent.model_copy(update={"incident_id": "inc-y", "message_id": "m-y", "owner": "m-y:a", "claim_key": y_key,
                                    "noted_at": x_intent.noted_at - timedelta(seconds=5), "closed_at": None,
                                    "closed_by": "", "note": "", "expires_at": None,
                                    "state": x_intent.state.__class__.OPEN})
    world.state.put_record(INTENTS, y.key, y.model_dump(mode="python"))
    _lapsed(world)
    from shared.remediation.verification import Sweep

    outcomes = Sweep(world.config, world.adapters)._unrecorded_intents()   # the intents' pass: X's verification aside

    [escalated] = _escalations(outcomes, "inc-y")
    assert x_intent.claim_key in escalated.reason and "Recorded now" not in escalated.reason, escalated.reason
    assert world.state.get_record(ACTIONS, y_key) is None
    assert world.state.get_record(INTENTS, y.key)["state"] == "escalated"
    assert world.standins.run.count("UpdateService") == 1


def _one_publish_fails(world: World, act: Any) -> Any:
    """`act`, with the next outcome publish failing (Pub/Sub unavailable): it raises. Later publishes
    pass through; returns the adapters to put back."""
    from shared.errors import TransientError
    from tests.unit.fakes import FaultyPublisher

    adapters, publisher = world.adapters, FaultyPublisher(world.adapters.publisher)
    world.adapters = dataclasses.replace(adapters, publisher=publisher)
    publisher.fail_next(1)
    with pytest.raises(TransientError):
        act()
    return adapters


def test_a_sweep_report_whose_publish_failed_reaches_a_person_once(world):
    """The sweep records the unrecorded write, and its `escalated` publish fails (Pub/Sub unavailable):
    the sweep's delivery raises (redelivered), the report stays pending in the closed intent, and the
    retried sweep publishes that very outcome, once; a later sweep publishes nothing."""
    incident_id = _died_after_its_write(world)
    _lapsed(world)
    adapters = _one_publish_fails(world, lambda: world.command({"command": "sweep"}))
    key = intent_key(incident_id, MESSAGE)
    intent = world.state.get_record(INTENTS, key)
    assert intent["state"] == "recorded" and intent["report_state"] == "pending" and intent["report_by"] == ""

    world.clock.set(world.clock.now() + timedelta(seconds=10))
    [outcome] = world.command({"command": "sweep"}, message_id="c1")    # Pub/Sub's redelivery of the sweep

    assert outcome.status.value == "escalated" and "Recorded now" in outcome.reason, outcome.reason
    [published] = world.published()
    assert published["outcome_id"] == outcome.outcome_id and published["incident_id"] == incident_id
    assert world.state.get_record(INTENTS, key)["report_state"] == "sent"
    world.clock.set(world.clock.now() + timedelta(seconds=30))
    assert _escalations(world.command({"command": "sweep"}, message_id="c2"), incident_id) == []
    world.adapters = adapters


def test_two_sweeps_at_once_publish_an_unsent_report_once(world):
    """After the failed publish, two sweeps (the retried delivery and the scheduler's next) run at once:
    each reads the report pending and tries to take it by an update guarded on its holder (Firestore's
    update-time precondition); exactly one publishes it."""
    incident_id = _died_after_its_write(world)
    _lapsed(world)
    adapters = _one_publish_fails(world, lambda: world.command({"command": "sweep"}))
    world.clock.set(world.clock.now() + timedelta(seconds=10))

    results, errors = concurrently(lambda: world.command({"command": "sweep"}, message_id="c1"),
                                   lambda: world.command({"command": "sweep"}, message_id="c2"))

    assert errors == []
    reports = _escalations([o for result in results for o in result], incident_id)
    assert len(reports) == 1, [(o.status.value, o.reason) for o in reports]
    assert [p["outcome_id"] for p in world.published(2)] == [reports[0].outcome_id]   # waits for a second: none
    assert world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))["report_state"] == "sent"
    world.adapters = adapters


def _redelivery_whose_publish_failed(world: World) -> tuple[str, Any, dict[str, Any]]:
    """The attempt died after its write; its redelivery records it and its `escalated` publish fails
    (Pub/Sub unavailable): the report is kept pending in the closed intent, given back at once."""
    import json

    incident_id = _died_after_its_write(world)
    _lapsed(world)
    world.adapters = _one_publish_fails(world, lambda: world.handle(world.alert(message_id=MESSAGE)))
    intent = world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))
    assert intent["state"] == "recorded" and intent["report_state"] == "pending" and intent["report_by"] == ""
    stored = json.loads(intent["report"])
    assert "Recorded now" in stored["reason"] and world.standins.run.count("UpdateService") == 1
    return incident_id, stored, intent


def test_a_redeliverys_report_whose_publish_failed_is_published_by_the_next_delivery_once(world):
    """Pub/Sub delivers the message again: that delivery takes the report (a guarded update) and
    publishes the stored outcome, the same outcome_id, rather than a `skipped` duplicate."""
    incident_id, stored, _ = _redelivery_whose_publish_failed(world)
    world.clock.set(world.clock.now() + timedelta(seconds=10))

    again = world.handle(world.alert(message_id=MESSAGE))

    assert again.status.value == "escalated" and again.outcome_id == stored["outcome_id"], again.reason
    [published] = world.published()
    assert published["outcome_id"] == stored["outcome_id"] and published["incident_id"] == incident_id
    assert world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))["report_state"] == "sent"
    assert world.standins.run.count("UpdateService") == 1


def test_a_redelivery_and_the_sweep_at_once_publish_an_unsent_redelivery_report_once(world):
    """After the failed publish, the message's next delivery and a sweep read the pending report at
    once: each tries to take it by an update guarded on its holder; exactly one publishes it."""
    incident_id, stored, _ = _redelivery_whose_publish_failed(world)
    world.clock.set(world.clock.now() + timedelta(seconds=10))

    results, errors = concurrently(lambda: [world.handle(world.alert(message_id=MESSAGE))],
                                   lambda: world.command({"command": "sweep"}, message_id="c1"))

    assert errors == []
    reports = _escalations([o for result in results for o in result], incident_id)
    assert [o.outcome_id for o in reports] == [stored["outcome_id"]], [(o.status.value, o.reason) for o in reports]
    assert [p["outcome_id"] for p in world.published(3) if p["status"] == "escalated"] == [stored["outcome_id"]]
    assert world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))["report_state"] == "sent"


@pytest.mark.parametrize("age, state, replaced", [
    (timedelta(seconds=30), "open", False),          # its attempt may still run: kept
    (timedelta(seconds=30), "void", True),           # closed: replaced
    (None, "open", True),                            # older than a claim's lease: replaced
], ids=["young-open", "young-closed", "old-open"])
def test_a_plan_stored_on_firestore_is_never_replaced_while_its_attempt_may_run(world, age, state, replaced):
    """The gate's store of a plan (`Gate._note_intent`) on the real store: another attempt's open plan
    younger than a claim's lease is kept (AttemptInProgress); any other is replaced by a guarded update."""
    now = world.adapters.clock.now()
    lease = skew_safe_lease(world.config.guardrails.claim_ttl_seconds)
    key = claim_key("inc-1", SERVICE, "rollback_traffic")
    earlier = IntentRecord(incident_id="inc-1", message_id=MESSAGE, owner=f"{MESSAGE}:a", claim_key=key,
                           action="rollback_traffic", target=SERVICE, service=SERVICE, params={"target": SERVICE},
                           before={"traffic": [{"revision": NEW, "percent": 100}]},
                           after={"traffic": [{"revision": OLD, "percent": 100}]},
                           noted_at=now - (age or lease + timedelta(seconds=1)), state=IntentState(state))
    world.state.put_record(INTENTS, earlier.key, earlier.model_dump(mode="python"))
    mine = earlier.model_copy(update={"owner": f"{MESSAGE}:b", "noted_at": now, "state": IntentState.OPEN})
    gate = Gate(world.config, world.state, FixedClock(now), owner=f"{MESSAGE}:b", message_id=MESSAGE)
    if replaced:
        gate._note_intent(mine)
    else:
        with pytest.raises(AttemptInProgress):
            gate._note_intent(mine)
    stored = IntentRecord.model_validate(world.state.get_record(INTENTS, earlier.key))
    assert stored == (mine if replaced else earlier)


def _twin(world: World, incident_id: str, message: str, noted_at: Any) -> IntentRecord:
    """Another message's plan of the very same change on the very same state, left open (it lost the race
    for the claim and its void did not land)."""
    mine = IntentRecord.model_validate(world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE)))
    twin = mine.model_copy(update={"message_id": message, "owner": f"{message}:a", "noted_at": noted_at})
    world.state.put_record(INTENTS, twin.key, twin.model_dump(mode="python") | {"state": "open"})
    return IntentRecord.model_validate(world.state.get_record(INTENTS, twin.key))


def test_an_escalation_of_one_twin_landing_before_the_adoption_of_another_commits_is_the_one_report(world,
                                                                                                   monkeypatch):
    """One judge records a plan (the target showed the change) while another escalates its twin (it read
    the target a moment before, neither): the twin was stored less than a lease ago, so the escalation does
    not close it. The adoption, committed after the escalation, recorded the claim's write and reported it
    a second time. Its commit is guarded now on the other open plans of the claim, on the emulator's
    update-time precondition: nothing written, and the next judge closes its plan with the escalated one."""
    from shared.remediation import intents
    from shared.remediation.actions import get_action

    incident_id = _died_after_its_write(world)
    _lapsed(world)
    mine = IntentRecord.model_validate(world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE)))
    twin = _twin(world, incident_id, "m-twin", world.clock.now() - timedelta(seconds=30))
    store, commit, escalated = world.state, world.state._commit_checked, []

    def escalated_first(writes):
        if not escalated:       # once, before the adopter's first commit (the escalation's own goes through)
            escalated.append(None)
            escalated[0] = intents.claim_escalation(store, mine, "sweep:other", world.clock.now(), "shows neither",
                                                    lease=skew_safe_lease(world.config.guardrails.claim_ttl_seconds))
        return commit(writes)

    monkeypatch.setattr(store, "_commit_checked", escalated_first)
    gate = Gate(world.config, store, world.clock, "m-twin:b", message_id="m-twin")
    result = gate.adopt_write(twin, get_action("rollback_traffic"), {}, "shows the change")
    monkeypatch.undo()

    assert escalated == [True] and result.status.value == "skipped", result.reason
    key = claim_key(incident_id, SERVICE, "rollback_traffic")
    assert world.state.get_record(ACTIONS, key) is None
    again = Gate(world.config, store, world.clock, "m-twin:c", message_id="m-twin").adopt_write(
        twin, get_action("rollback_traffic"), {}, "shows the change")
    assert again.status.value == "skipped" and world.state.get_record(INTENTS, twin.key)["state"] == "escalated"
    assert world.state.get_record(ACTIONS, key) is None and world.standins.run.count("UpdateService") == 1


def test_an_intent_whose_claim_has_another_plan_that_cannot_be_read_is_escalated_naming_it_once(world):
    """The sweep judges a write no attempt recorded, and another plan of its claim cannot be read (plans.of_claim
    raises DamagedRecord: it may be the twin that told a person, or one that wrote). The intent is escalated naming
    that plan, nothing written, told once, and the sweep goes on; before, the plan was passed over in silence."""
    incident_id = _died_after_its_write(world)
    key = claim_key(incident_id, SERVICE, "rollback_traffic")
    other = intent_key(incident_id, "m-twin")
    world.state.put_record(INTENTS, other, {"incident_id": incident_id, "message_id": "m-twin", "owner": "m-twin:1",
                                            "claim_key": key, "action": "rollback_traffic", "target": SERVICE,
                                            "service": SERVICE, "noted_at": "a while ago", "state": "escalated"})
    _lapsed(world)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and outcome.incident_id == incident_id, outcome.reason
    assert f"the intents record '{other}' cannot be read" in outcome.reason, outcome.reason
    assert world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))["state"] == "escalated"
    assert world.standins.run.count("UpdateService") == 1   # nothing written again
    world.clock.set(world.clock.now() + timedelta(seconds=30))
    assert world.command({"command": "sweep"}) == []        # told once


def test_a_write_that_took_beside_an_unreadable_plan_is_said_never_verified_and_told_once_for_good(world):
    """The write took (the attempt died after it), and another plan of its claim cannot be read, so the sweep
    escalates the intent instead of recording it. Before, the escalation said only "was never recorded, and this
    version cannot judge it": not that the target shows the write, nor that nothing would verify it, undo it or remind
    of its pin (no action record, no pin is kept), so it read as a write still pending. Now it says both; it is
    told once, and sweeps hours later tell nothing more."""
    incident_id = _died_after_its_write(world)
    key = claim_key(incident_id, SERVICE, "rollback_traffic")
    world.state.put_record(INTENTS, intent_key(incident_id, "m-twin"), {
        "incident_id": incident_id, "message_id": "m-twin", "owner": "m-twin:1", "claim_key": key,
        "action": "rollback_traffic", "target": SERVICE, "service": SERVICE, "noted_at": "a while ago",
        "state": "escalated"})
    _lapsed(world)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated", outcome.reason
    assert f"{SERVICE} shows the planned change: its write took" in outcome.reason, outcome.reason
    assert "will not verify it or undo it, nor remind of the revision it pinned" in outcome.reason, outcome.reason
    assert outcome.action.after is not None and outcome.action.after["traffic"][0]["revision"] == OLD
    for later, hours in enumerate((0.5, 2, 26), 1):
        world.clock.set(world.clock.now() + timedelta(hours=hours))
        assert world.command({"command": "sweep"}, message_id=f"later-{later}") == []
    assert world.state.get_record(INTENTS, intent_key(incident_id, MESSAGE))["report_state"] == "sent"
