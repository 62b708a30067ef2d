"""The target's write claim (shared/remediation/guardrails.py `WRITING`): one write to a target at a time,
with a cooldown of 0 too, where the cooldown's claim takes nothing. In-process parts (the stand-ins, the
in-memory state store); the same races on the emulators: tests/integration/test_write_claim_races.py."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.errors import WriteInFlight
from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import WRITING, bound_key
from tests.property.harness import CONNECTOR
from tests.unit.test_command_inputs import OLD, _during_first_call, patches, send, world

NO_COOLDOWN = {"guardrails": {"cooldown_seconds": 0}}
SCALABLE = {"connectors": [{"name": CONNECTOR}]}
KEPT = bound_key(CONNECTOR)   # where the gate keeps its write claim: the key both its names share


def _no_cooldown_connector() -> Any:
    return world("connector_saturation", bounds=SCALABLE, **NO_COOLDOWN)


def test_at_cooldown_0_two_scales_of_one_connector_are_never_sent_at_once():
    """Two operators scale the saturated connector within a second, neither with override_limits, under a
    cooldown of 0. Nothing kept them apart: both read the connector as 2-3 instances, both PATCHes were
    sent (VPC Access takes no etag), and the first's, sent last, asked for less than the second had left
    (the API refuses a lower count: `failed`), or, the other way round, the second's answer stood for a
    size no longer there. Now the second is `skipped`, naming the first, and nothing of it is sent; once
    the first has ended the target is free again."""
    w = _no_cooldown_connector()
    second = _during_first_call(w.adapters.vpcaccess, "update_connector", lambda: send(
        w, "scale_connector", "sc-bob", target=CONNECTOR, params={"max_instances": 6}))
    first = send(w, "scale_connector", "sc-alice", target=CONNECTOR, params={"max_instances": 5})
    assert first.status is OutcomeStatus.APPLIED, first.reason
    [held] = second
    assert held.status is OutcomeStatus.SKIPPED, held.reason
    assert "in flight" in held.reason and "command sc-alice" in held.reason and "nothing was written" in held.reason
    assert patches(w) == 1
    assert w.state.get(WRITING, KEPT) is None       # given back once the write ended
    later = send(w, "scale_connector", "sc-bob-2", target=CONNECTOR, params={"max_instances": 6})
    assert later.status is OutcomeStatus.APPLIED and patches(w) == 2, later.reason


def test_at_cooldown_0_an_alert_arriving_while_a_rollback_is_sent_waits_for_it():
    """An operator's rollback of the service is being sent when the alert's own rollback reaches the gate,
    under a cooldown of 0: the alert's was sent too, on the split read before the operator's. Now the
    alert's delivery raises WriteInFlight (Pub/Sub delivers it again), having sent nothing and held
    nothing; its next delivery decides on the service as the operator's rollback left it."""
    w = world(**NO_COOLDOWN)
    raised: list[BaseException] = []

    def alert() -> None:
        try:
            w.handle(w.alert("bad_revision"))
        except WriteInFlight as exc:
            raised.append(exc)

    _during_first_call(w.adapters.run, "set_traffic", alert)
    command = send(w, "rollback_traffic", "rb-alice", target=w.config.services[0].name, params={"revision": OLD})
    assert command.status is OutcomeStatus.APPLIED, command.reason
    assert len(raised) == 1 and "in flight" in str(raised[0]) and "command rb-alice" in str(raised[0]), raised
    assert w.standins.run.count("UpdateService") == 1
    again = w.handle(w.alert("bad_revision"))      # its redelivery: the service already rolled back
    assert again.status is not OutcomeStatus.APPLIED, again.reason
    assert w.standins.run.count("UpdateService") == 1


def test_an_override_is_held_back_by_a_write_whose_plan_is_not_stored_yet():
    """Another write to the connector has taken its claims (its write claim with them, in one commit) and is
    about to send its PATCH, its plan still on its way to the store (stored beside the commit, it can land
    later than a read of the plans). The override read the plans, found none, and wrote beside it. Now it
    is held back by that write's claim, whatever the plans say."""
    w = world("connector_saturation", bounds=SCALABLE)
    now = w.clock.now()
    w.state.claim(WRITING, KEPT, "17:a", timedelta(minutes=10), now)
    held = send(w, "scale_connector", "sc-over", target=CONNECTOR, params={"max_instances": 5}, override_limits=True)
    assert held.status is OutcomeStatus.SKIPPED, held.reason
    assert "in flight" in held.reason and "17:a" in held.reason and "override_limits" in held.reason, held.reason
    assert patches(w) == 0
    assert w.state.get(WRITING, KEPT).owner == "17:a"     # the other write's claim is left as it is


def test_an_override_is_not_held_back_by_plans_open_on_other_targets_however_many():
    """The override's check read at most in_flight.LISTED open plans, and with more open (a storm of alerts
    on other targets) it held back, as one on this target might not have been read. The write claim is
    the target's own: plans on other targets, however many, hold nothing back."""
    from shared.remediation.in_flight import LISTED
    from tests.unit.test_command_inputs import SERVICE, in_flight

    w = world("connector_saturation", bounds=SCALABLE)
    for n in range(LISTED + 1):
        in_flight(w, target=f"{SERVICE}-other-{n}", service=f"{SERVICE}-other-{n}", incident=f"0.storm{n}")
    applied = send(w, "scale_connector", "sc-many", target=CONNECTOR, params={"max_instances": 5},
                   override_limits=True)
    assert applied.status is OutcomeStatus.APPLIED and patches(w) == 1, applied.reason


@pytest.mark.parametrize("override", [False, True])
def test_a_write_claim_left_by_an_instance_that_died_lapses_with_its_lease(override):
    """A write claim whose instance died mid-write is not given back: it holds the target until its lease
    (the claim's TTL with the skew allowance), then the next write takes it over."""
    w = _no_cooldown_connector()
    now = w.clock.now()
    lease = timedelta(seconds=w.config.guardrails.claim_ttl_seconds)
    w.state.claim(WRITING, KEPT, "dead:a", lease, now - lease - timedelta(seconds=1))
    applied = send(w, "scale_connector", "sc-after", target=CONNECTOR, params={"max_instances": 5},
                   override_limits=override)
    assert applied.status is OutcomeStatus.APPLIED and patches(w) == 1, applied.reason
    assert w.state.get(WRITING, KEPT) is None


def _undo(state: Any, owner: str, run: Any) -> Any:
    """The sweep's undo of a rollback (restore_traffic, a corrective write) through the gate, cooldown 0."""
    from shared.clock import FixedClock
    from shared.diagnosis.evidence import TrafficTarget, TrafficType
    from shared.remediation.actions import get_action
    from shared.remediation.actions.restore_traffic import RestoreTrafficParams
    from shared.remediation.guardrails import Gate
    from tests.unit.builders import SERVICE, T0
    from tests.unit.fakes import Adapters
    from tests.unit.test_guardrails import config

    params = RestoreTrafficParams(target=SERVICE, traffic=(TrafficTarget(type=TrafficType.REVISION, percent=100,
                                                                         revision="backend-00002-xyz"),),
                                  undoes="inc-1|x|rollback_traffic")
    gate = Gate(config(guardrails__cooldown_seconds=0), state, FixedClock(T0 + timedelta(minutes=40)), owner=owner)
    return gate.execute(get_action("restore_traffic"), params, {}, "inc-1", Adapters(run))


def test_the_sweeps_undo_waits_for_a_write_in_flight_on_its_service_and_holds_nothing():
    """The sweep's undo is corrective: no cooldown, no budget held it back, and at cooldown 0 nothing at all
    did, so it was sent beside another write of its service (an operator's rollback). Now it raises
    WriteInFlight (the sweep tries it again, its record still `undoing`) with nothing sent and its claim
    given back; once the other write has ended, the next sweep's undo is written."""
    from tests.unit.builders import SERVICE, T0
    from tests.unit.fakes import MemoryStateStore, RecordingRun
    from tests.unit.test_guardrails import bad_revision_plan

    _, b = bad_revision_plan()
    state, run = MemoryStateStore(), RecordingRun(b.service)
    state.claim(WRITING, SERVICE, "command-rb:1", timedelta(minutes=10), T0 + timedelta(minutes=39))
    with pytest.raises(WriteInFlight, match="in flight"):
        _undo(state, "sweep-1", run)
    assert run.writes == [] and state.get(WRITING, SERVICE).owner == "command-rb:1"
    state.release(WRITING, SERVICE, "command-rb:1")        # the other write has ended
    again = _undo(state, "sweep-2", run)
    assert again.status is OutcomeStatus.APPLIED and len(run.writes) == 1, again.reason
    assert state.get(WRITING, SERVICE) is None


def test_a_write_whose_outcome_is_unknown_keeps_the_targets_write_claim_until_its_lease():
    """A write sent with no answer may still be landing: its write claim is not given back, and the next
    write to the target waits until its lease (a refusal given back frees the target at once)."""
    from shared.errors import OutcomeUnknownError, PermanentError
    from tests.unit.builders import SERVICE
    from tests.unit.fakes import MemoryStateStore, RecordingRun
    from tests.unit.test_guardrails import bad_revision_plan

    _, b = bad_revision_plan()
    state = MemoryStateStore()
    unknown = _undo(state, "sweep-1", RecordingRun(b.service, fail_with=OutcomeUnknownError("deadline exceeded")))
    assert unknown.status is OutcomeStatus.ESCALATED and unknown.written, unknown.reason
    assert state.get(WRITING, SERVICE).owner == "sweep-1"
    refused_state = MemoryStateStore()
    refused = _undo(refused_state, "sweep-1", RecordingRun(b.service, fail_with=PermanentError("denied",
                                                                                             code="PERMISSION_DENIED")))
    assert refused.status is OutcomeStatus.FAILED and refused_state.get(WRITING, SERVICE) is None


def test_an_alert_held_back_by_another_write_for_every_delivery_is_answered_before_it_is_dead_lettered():
    """Another incident's rollback of the service ended with its outcome unknown, so its write claim holds the
    service until its lease (about 12 min). The alert's deliveries each raised WriteInFlight and were waited
    out like an attempt at the same message, never given up on; but that write answers for its own message
    only, and Pub/Sub's dead-letter policy (5 deliveries at 10 s minimum backoff can span 150 s) dropped
    this alert with nothing published: nobody was told of the incident. Now every delivery but the last is
    redelivered, and the last publishes one `failed` outcome naming the write in flight."""
    from shared.alerts.delivery import DeliveryCounter
    from shared.pipeline import handle_delivery

    w = world(**NO_COOLDOWN)
    service = w.config.services[0].name
    lease = timedelta(seconds=w.config.guardrails.claim_ttl_seconds + 120)
    w.state.claim(WRITING, service, "other-incident:a", lease, w.clock.now())
    limit = w.config.delivery.max_attempts
    message = w.alert("bad_revision", message_id="held-1")
    for attempt in range(1, limit):
        with pytest.raises(WriteInFlight):
            handle_delivery(message, w.config, w.adapters, delivery_attempt=attempt, counter=DeliveryCounter())
        assert w.published() == []
    last = handle_delivery(message, w.config, w.adapters, delivery_attempt=limit, counter=DeliveryCounter())
    assert last.status is OutcomeStatus.FAILED, last.reason
    assert "other-incident:a" in last.reason and "in flight" in last.reason and "nothing was written" in last.reason
    assert "delivered again" not in last.reason, last.reason
    assert [o["status"] for o in w.published()] == ["failed"]
    assert w.standins.run.count("UpdateService") == 0
    assert w.state.get(WRITING, service).owner == "other-incident:a"   # the other write's claim left as it is


def test_status_shows_a_write_in_flight_whose_and_since_when():
    """At a cooldown of 0 a write being sent (or kept to its lease after an unknown outcome) held back every
    other write to its target, and `status` showed nothing of it: no cooldown, no pending verification yet.
    A person asking why their command was skipped, or why an alert keeps being delivered again, saw an
    idle target. Now `status` lists the write claims held: the target, whose write, since and until when;
    with a target, only that target's; a claim left to lapse is not listed as in flight."""
    from tests.unit.test_command_inputs import SERVICE

    w = _no_cooldown_connector()
    now = w.clock.now()
    lease = timedelta(seconds=w.config.guardrails.claim_ttl_seconds)
    w.state.claim(WRITING, KEPT, "17:a", lease, now - timedelta(minutes=3))
    w.state.claim(WRITING, SERVICE, "dead:b", lease, now - lease - timedelta(seconds=1))   # lapsed
    answer = send(w, "status", "st-1")
    assert answer.status is OutcomeStatus.REPORTED, answer.reason
    [held] = answer.snapshot["writes_in_flight"]
    assert held["target"] == CONNECTOR and held["held_by"] == "17:a", held
    assert held["since"] and held["until"], held
    assert "1 write(s) in flight" in answer.reason, answer.reason
    assert send(w, "status", "st-2", target=SERVICE).snapshot["writes_in_flight"] == []
    assert len(send(w, "status", "st-3", target=CONNECTOR).snapshot["writes_in_flight"]) == 1


def test_a_write_claim_that_cannot_be_given_back_says_until_when_it_holds_the_target(capsys):
    """The write ended (applied) and the release of its write claim failed (Firestore UNAVAILABLE past the
    client's retries). The claim then holds the target until its lease, every other write to it held back,
    and the timeline said only "it lapses with its lease", at INFO: nobody reading it learnt until when, or
    that other writes wait. Now a WARNING names the target, until when, and what is held back."""
    from dataclasses import replace as with_state

    from tests.unit.fakes import FaultyStateStore

    w = _no_cooldown_connector()
    faulty = FaultyStateStore(w.state)
    w.adapters = with_state(w.adapters, state=faulty)
    faulty.fail_next("write", method="release")
    applied = send(w, "scale_connector", "sc-kept", target=CONNECTOR, params={"max_instances": 5})
    assert applied.status is OutcomeStatus.APPLIED, applied.reason
    held = w.state.get(WRITING, KEPT)
    assert held is not None and ("release", "UNAVAILABLE", False) in faulty.injected
    kept = [line for line in map(__import__("json").loads, filter(None, capsys.readouterr().out.splitlines()))
            if line.get("runwarden", {}).get("step") == "write_claim_kept"]
    assert len(kept) == 1 and kept[0]["severity"] == "WARNING", kept
    assert f"until {held.expires_at:%H:%M:%S}Z" in kept[0]["message"] and "held back" in kept[0]["message"], kept


def _api_calls(w: Any) -> int:
    return sum(len(getattr(w.standins, name).calls) for name in ("run", "monitoring", "logging", "vpcaccess"))


def test_a_redelivery_held_back_by_the_same_write_reads_no_evidence_until_it_has_ended():
    """Each delivery of an alert held back by another write in flight read the alert's whole evidence (14 API
    calls for a bad revision) before meeting that write's claim again at the gate: with the target held for
    a lease of 12 min and deliveries without backoff (the local emulator), a storm of reads for nothing. Now
    a delivery whose previous one here met that very write reads its claim first (one state read) and,
    still held by it, is delivered again with no evidence read; once it is given back, the next delivery is
    handled in full and acts on the service as that write left it. The last delivery is always handled in
    full."""
    from shared.alerts.delivery import DeliveryCounter
    from shared.pipeline import handle_delivery

    w = world(**NO_COOLDOWN)
    service = w.config.services[0].name
    w.state.claim(WRITING, service, "other-incident:a", timedelta(minutes=12), w.clock.now())
    counter, message = DeliveryCounter(), w.alert("bad_revision", message_id="held-2")
    with pytest.raises(WriteInFlight):
        handle_delivery(message, w.config, w.adapters, counter=counter)
    first = _api_calls(w)
    assert first > 0
    for _ in range(3):
        with pytest.raises(WriteInFlight, match="no evidence read"):
            handle_delivery(message, w.config, w.adapters, counter=counter)
    assert _api_calls(w) == first                       # nothing read from Google's APIs meanwhile
    w.state.release(WRITING, service, "other-incident:a")   # that write has ended
    applied = handle_delivery(message, w.config, w.adapters, counter=counter)
    assert applied.status is OutcomeStatus.APPLIED and w.standins.run.count("UpdateService") == 1, applied.reason


def test_the_delivery_that_gives_up_on_an_alert_held_back_is_handled_in_full():
    """The shortcut never answers the delivery that may give up: it reads the evidence as it is then and, the
    write still in flight, gives up naming it (or answers as the evidence says). Where Pub/Sub counts the
    deliveries that is the last (`delivery.max_attempts`); where only this instance counts them, the first at
    or past that limit once the alert has been held back for a write claim's lease."""
    from shared.alerts.delivery import DeliveryCounter
    from shared.clock import skew_safe_lease
    from shared.pipeline import handle_delivery
    from tests.property.fast import FastWorld, seeded_copy
    from tests.property.harness import ANCHOR

    w = FastWorld(seeded_copy("bad_revision", 60), ANCHOR, **NO_COOLDOWN)    # the incident going on for an hour
    service = w.config.services[0].name
    w.state.claim(WRITING, service, "other-incident:a", timedelta(hours=1), w.clock.now())   # held and held again
    counter, message = DeliveryCounter(), w.alert("bad_revision", message_id="held-3")
    limit = w.config.delivery.max_attempts
    for _ in range(limit):
        with pytest.raises(WriteInFlight):
            handle_delivery(message, w.config, w.adapters, counter=counter)
    w.clock.advance(skew_safe_lease(w.config.guardrails.claim_ttl_seconds).total_seconds())
    before = _api_calls(w)
    last = handle_delivery(message, w.config, w.adapters, counter=counter)
    assert _api_calls(w) > before
    assert last.status is OutcomeStatus.FAILED and "other-incident:a" in last.reason, last.reason
    assert [o["status"] for o in w.published()] == ["failed"]
    again = handle_delivery(message, w.config, w.adapters, counter=counter)    # came again past its answer
    assert again.status is OutcomeStatus.SKIPPED and "not sent to a person again" in again.reason, again.reason
    assert [o["status"] for o in w.published()].count("failed") == 1     # one page, not one per delivery


def test_an_alert_held_back_by_a_short_write_acts_after_it_whether_or_not_its_deliveries_come_with_backoff():
    """Another incident's rollback of the service is being sent (its write claim taken a moment ago), and the
    alert's deliveries come with no backoff between them (the local emulator, a subscription without a
    dead-letter policy: this instance counts them). The tenth, a second after the first, answered `failed`
    ("gave up after 10 deliveries"), where in production the subscription's backoff spaces them out and a
    delivery after the write had ended acted. The give-up now depends on how long the alert has been held
    back, against a write claim's lease, where nothing but this instance counts its deliveries: it waits
    for the write and then acts, the same answer as with backoff."""
    from shared.alerts.delivery import DeliveryCounter
    from shared.pipeline import handle_delivery

    w = world(**NO_COOLDOWN)
    service = w.config.services[0].name
    w.state.claim(WRITING, service, "other-incident:a", timedelta(minutes=12), w.clock.now())
    counter, message = DeliveryCounter(), w.alert("bad_revision", message_id="held-4")
    for _ in range(w.config.delivery.max_attempts + 2):
        with pytest.raises(WriteInFlight):
            handle_delivery(message, w.config, w.adapters, counter=counter)
    assert w.published() == []
    w.clock.advance(5)
    w.state.release(WRITING, service, "other-incident:a")   # that write has ended, seconds after it began
    acted = handle_delivery(message, w.config, w.adapters, counter=counter)
    assert acted.status is OutcomeStatus.APPLIED and w.standins.run.count("UpdateService") == 1, acted.reason
    assert [o["status"] for o in w.published()] == ["applied"]


def _sweep(w: Any, sweep_id: str) -> list[Any]:
    import json

    from shared.commands import handle_command
    from tests.integration.world import event

    body = {"command": "sweep", "command_id": sweep_id, "requested_by": "scheduler"}
    return handle_command(event(json.dumps(body).encode(), f"m-{sweep_id}"), w.config, w.adapters)


def test_a_write_claim_kept_after_an_unknown_outcome_is_given_back_once_the_sweep_has_judged_that_write():
    """Incident alpha's rollback of the service was sent and its answer lost (DEADLINE_EXCEEDED, the service
    read back without the change): the gate kept the service's write claim until its lease (15 min here),
    as the write might still land. The sweep judged that write at its settle time (escalated: the service
    does not serve as the rollback would have left it), which settles the outcome the claim was kept for;
    yet the claim held the service to its lease, and incident bravo's alert on it was delivered again and
    again, for nothing, until then. Now the sweep's verdict gives the claim back, and bravo's next delivery
    acts at once; nothing is written twice."""
    import grpc

    from shared.alerts.delivery import DeliveryCounter
    from shared.pipeline import handle_delivery
    from shared.remediation.records import ACTIONS

    w = world(**NO_COOLDOWN)
    service = w.config.services[0].name
    w.standins.run.faults.fail_next(1, grpc.StatusCode.DEADLINE_EXCEEDED, method="UpdateService")
    alpha = w.handle(w.alert("bad_revision", message_id="alpha-1", incident_id="0.alpha"))
    assert alpha.status is OutcomeStatus.ESCALATED and "could not be confirmed" in alpha.reason, alpha.reason
    kept = w.state.get(WRITING, service)
    assert kept is not None and kept.owner.startswith("alpha-1:"), kept
    counter, bravo = DeliveryCounter(), w.alert("bad_revision", message_id="bravo-1", incident_id="0.bravo")
    w.clock.advance(60)
    with pytest.raises(WriteInFlight, match=kept.owner):
        handle_delivery(bravo, w.config, w.adapters, counter=counter)

    w.clock.advance(w.config.verification.settle_seconds)          # alpha's write settles: the sweep judges it
    judged = _sweep(w, "sweep-1")
    assert any(o.status is OutcomeStatus.ESCALATED for o in judged), [o.reason for o in judged]
    [record] = w.state.find_records(ACTIONS, "incident_id", "0.alpha")
    assert record["state"] == "escalated", record
    assert w.clock.now() < kept.expires_at and w.state.get(WRITING, service) is None

    acted = handle_delivery(bravo, w.config, w.adapters, counter=counter)   # its next delivery, well before the lease
    assert acted.status is OutcomeStatus.APPLIED, acted.reason
    assert w.standins.run.count("UpdateService") == 2                 # alpha's lost one, bravo's: none twice
    assert w.state.get(WRITING, service) is None
    assert w.handle(w.alert("bad_revision", message_id="alpha-2", incident_id="0.alpha")).status \
        is not OutcomeStatus.APPLIED
    assert w.standins.run.count("UpdateService") == 2


def test_the_sweeps_verdict_leaves_alone_a_write_claim_another_write_holds_now():
    """The claim the unknown write kept lapsed and another write took the service since: the verdict on the
    first write gives back only that write's own claim (owner-checked), never the one in flight now."""
    import grpc

    w = world(**NO_COOLDOWN)
    service = w.config.services[0].name
    w.standins.run.faults.fail_next(1, grpc.StatusCode.DEADLINE_EXCEEDED, method="UpdateService")
    w.handle(w.alert("bad_revision", message_id="alpha-1", incident_id="0.alpha"))
    kept = w.state.get(WRITING, service)
    w.state.release(WRITING, service, kept.owner)                   # lapsed, then
    w.state.claim(WRITING, service, "command-rb:1", timedelta(minutes=10), w.clock.now())   # another's write
    w.clock.advance(w.config.verification.settle_seconds + 60)
    _sweep(w, "sweep-1")
    assert w.state.get(WRITING, service).owner == "command-rb:1"
