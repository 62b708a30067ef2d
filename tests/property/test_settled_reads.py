"""A duplicate answered from one batched read (the incident's SETTLED entries, written with the claim's
completion: shared/remediation/settled.py), on the fast tier's in-process parts. Each case compares the
answer with the one the full reads give (the same state without its SETTLED record, as state written
before the entries existed): the one read never answers differently, only with fewer reads."""
from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from shared.errors import AttemptInProgress
from shared.remediation.guardrails import CLAIMS, DRY_RUN_CLAIMS, claim_key
from shared.remediation.records import ACTIONS, INTENTS, SETTLED, SettledEntry, intent_key, settled_field
from shared.remediation.settled import SettledIncidents
from tests.integration.world import SERVICE
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR

CONNECTOR_POLICY = {"guardrails": {"cooldown_seconds": 0},
                    "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}


class Counting:
    """The world's state store, counting the calls the handler makes (each is one round trip). A
    `get_many_deferred` is `get_many`'s one BatchGetDocuments with some documents decoded later: counted
    as one `get_many`."""

    _SAME_READ = {"get_many_deferred": "get_many"}

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if not callable(method):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[self._SAME_READ.get(name, name)] += 1
            return method(*args, **kwargs)
        return counted


def world(scenario: str = "bad_revision", mode: str = "enforce", **config: Any) -> FastWorld:
    made = FastWorld(seeded_copy(scenario, None), ANCHOR, mode=mode, **config)
    made.adapters = dataclasses.replace(made.adapters, state=Counting(made.state))
    return made


def incident_of(w: FastWorld) -> str:
    [record] = w.state.find_records(ACTIONS, "target", SERVICE) or w.state.find_records(ACTIONS, "target", CONNECTOR)
    return record["incident_id"]


def again(w: FastWorld, scenario: str, message_id: str) -> tuple[Any, Counter]:
    """A delivery on a fresh instance (nothing remembered): its outcome and the state calls it made."""
    w.adapters = dataclasses.replace(w.adapters, settled=SettledIncidents(), state=Counting(w.state))
    outcome = w.handle(w.alert(scenario, message_id=message_id))
    return outcome, w.adapters.state.calls


def without_settled(w: FastWorld, incident_id: str) -> None:
    """State as a version before the entries left it: no SETTLED record."""
    w.state.documents.pop((SETTLED, incident_id), None)


def answer(outcome: Any) -> tuple:
    return outcome.status.value, outcome.reason, outcome.target, outcome.action.name if outcome.action else None


@pytest.mark.parametrize("scenario,config", [("bad_revision", {}), ("connector_saturation", CONNECTOR_POLICY)],
                         ids=["rollback", "connector"])
@pytest.mark.parametrize("message_id", ["1", "2"], ids=["redelivered", "re-notified"])
def test_a_duplicate_is_one_read_and_the_same_answer_as_the_full_reads(scenario, config, message_id):
    w = world(scenario, **config)
    assert w.handle(w.alert(scenario, message_id="1")).status.value == "applied"
    incident_id = incident_of(w)

    fast, calls = again(w, scenario, message_id)
    assert calls == Counter({"get_many": 1}), calls
    without_settled(w, incident_id)
    full, full_calls = again(w, scenario, message_id)

    assert answer(fast) == answer(full) and fast.reason.startswith("duplicate"), (fast.reason, full.reason)
    # State without entries: the query, as before; except that the claim on the alert's own target
    # (a rollback's) answers another message's delivery by itself. This message's redelivery has an
    # intent only an entry resolves without the query; a connector's claim needs it to be found.
    own_claim_answers = scenario == "bad_revision" and message_id == "2"
    assert full_calls["find_records"] == (0 if own_claim_answers else 1), full_calls


def test_the_settled_entry_is_written_with_the_completion_and_the_action_record():
    w = world()
    w.handle(w.alert(message_id="1"))
    incident_id = incident_of(w)
    key = claim_key(incident_id, SERVICE, "rollback_traffic")

    entry = SettledEntry.model_validate(w.state.get_record(SETTLED, incident_id)[settled_field(key)])

    assert (entry.key, entry.kind, entry.target, entry.action, entry.recorded) == (
        key, CLAIMS, SERVICE, "rollback_traffic", True)
    assert entry.claim == w.state.get_many([(CLAIMS, key)])[0]   # exactly the claim as completed
    assert w.state.get_record(ACTIONS, key) is not None
    assert w.adapters.state.calls["record_all"] == 1 and w.adapters.state.calls["complete"] == 0


def test_an_expired_entry_reads_in_full_and_the_action_record_answers():
    """The claim has expired: the entry cannot answer, so the incident's records are read in full,
    and its action record answers (one incident, one action, however long it stays open)."""
    w = world("connector_saturation", **CONNECTOR_POLICY)
    w.handle(w.alert("connector_saturation", message_id="1"))
    retention = w.config.guardrails.claim_retention_seconds
    w.clock.set(w.clock.now() + timedelta(seconds=retention + 60))

    outcome, calls = again(w, "connector_saturation", "2")

    assert outcome.status.value == "skipped" and "its claim's retention has lapsed" in outcome.reason, outcome.reason
    assert calls["find_records"] >= 1 and calls["get_many"] >= 2


def test_a_closed_incident_is_one_read():
    w = world()
    w.handle(w.alert(message_id="1"))
    w.handle(w.alert(message_id="c", state="closed"))

    outcome, calls = again(w, "bad_revision", "1")

    assert outcome.status.value == "skipped" and "already closed" in outcome.reason, outcome.reason
    assert calls == Counter({"get_many": 1})


def test_an_intent_no_entry_records_reads_in_full():
    """The redelivery of a message whose attempt stored its intent: only a recorded entry resolves
    it without the query (the action record may exist without one: state from before)."""
    w = world()
    w.handle(w.alert(message_id="1"))
    incident_id = incident_of(w)
    assert w.state.get_record(INTENTS, intent_key(incident_id, "1")) is not None
    without_settled(w, incident_id)

    outcome, calls = again(w, "bad_revision", "1")

    assert outcome.reason.startswith("duplicate"), outcome.reason
    assert calls == Counter({"get_many": 1, "find_records": 1})


def test_a_claim_held_by_an_earlier_attempt_at_this_message_still_waits():
    w = world()
    w.handle(w.alert(message_id="0"))   # an incident's first alert, so that its id is known
    incident_id = incident_of(w)
    w.state.documents.clear()
    w.state.records.clear()
    key = claim_key(incident_id, SERVICE, "rollback_traffic")
    w.state.claim(CLAIMS, key, "1:earlier", timedelta(minutes=10), w.clock.now())

    with pytest.raises(AttemptInProgress):
        again(w, "bad_revision", "1")
    outcome, calls = again(w, "bad_revision", "2")   # another message: a duplicate of the claim in progress
    assert outcome.reason.startswith("duplicate") and "already claimed" in outcome.reason, outcome.reason
    assert calls == Counter({"get_many": 1})


def test_the_seen_create_is_waited_for_when_the_attempt_raises():
    """An attempt that ends in AttemptInProgress leaves nothing running behind it: its OPEN's `seen` create
    (on a thread of its own while the evidence is read) has landed when the raise reaches the caller."""
    w = world()
    w.handle(w.alert(message_id="0"))
    incident_id = incident_of(w)
    w.state.documents.clear()
    w.state.records.clear()
    w.state.claim(CLAIMS, claim_key(incident_id, SERVICE, "rollback_traffic"), "1:earlier", timedelta(minutes=10),
                  w.clock.now())
    landed = threading.Event()

    class SlowCreate(Counting):
        def create_record(self, *args: Any, **kwargs: Any) -> bool:
            time.sleep(0.2)   # a slow commit: the raise comes long before it, unless it is waited for
            created = self.inner.create_record(*args, **kwargs)
            landed.set()
            return created

    w.adapters = dataclasses.replace(w.adapters, settled=SettledIncidents(), state=SlowCreate(w.state))
    with pytest.raises(AttemptInProgress):
        w.handle(w.alert(message_id="1"))
    assert landed.is_set()


def test_a_first_delivery_is_never_a_skip():
    w = world()

    outcome = w.handle(w.alert(message_id="1"))

    assert outcome.status.value == "applied", outcome.reason
    calls = w.adapters.state.calls
    assert calls["find_records"] >= 1   # no entry answered: the query, as before


def test_a_dry_run_claim_answers_only_while_the_action_is_a_dry_run():
    from shared.config import Mode

    w = world(mode="dry_run")
    assert w.handle(w.alert(message_id="1")).status.value == "dry_run"
    assert any(kind == DRY_RUN_CLAIMS for kind, _ in w.state.records)
    assert not any(kind == SETTLED for kind, _ in w.state.documents)   # entries are for real writes only

    outcome, calls = again(w, "bad_revision", "2")
    assert outcome.reason.startswith("duplicate"), outcome.reason
    assert calls == Counter({"get_many": 1})   # the dry-run claim is on the alert's own target

    w.config = w.config.model_copy(update={"mode": Mode.ENFORCE})
    enforced, _ = again(w, "bad_revision", "3")
    assert enforced.status.value == "applied", enforced.reason   # a real run is not held back by a dry run
