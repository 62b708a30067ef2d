"""A connector alert's write is made for every managed service behind the connector: a pause of any
of them holds it back, on the alert's path, on an approve of its proposal, and for a managed service
that could not be read (it may be behind the connector). In-process parts (tests/property/fast.py)."""
from __future__ import annotations

import json
from typing import Any

import grpc
import pytest

from sandbox.scenarios import resolve_scenario
from shared.commands import handle_command
from shared.config import parse_config
from shared.outcomes import OutcomeStatus
from shared.remediation.records import PROPOSALS
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR

SCENARIO = "connector_alert_shared"
PREFIX = "projects/shop-prod/locations/europe-west1"
SHARED = f"{PREFIX}/connectors/shared-conn"
ORDERS, PAYMENTS, LEDGER = (f"{PREFIX}/services/{name}" for name in ("orders", "payments", "ledger"))
OPERATOR = "alice@example.com"


def world(*services: str, one_way: bool = False, first: bool = False) -> FastWorld:
    """The scenario's own config (as World.for_scenario), with `services` managed beside its own (read
    before them when `first`: the connector's users are read in the config's order)."""
    scenario = resolve_scenario(SCENARIO)
    data = scenario.config_data("projects/x/topics/x", "enforce")
    overrides = {k: v for k, v in data.items() if k not in ("project", "mode", "outcomes_topic", "services", "bounds")}
    w = FastWorld(seeded_copy(SCENARIO, None), ANCHOR, services=(), operators=[OPERATOR],
                  bounds={"connectors": [{"name": SHARED, "allow_one_way": one_way}]}, **overrides)
    extra = [{"name": name} for name in services]
    managed = [*extra, *data["services"]] if first else [*data["services"], *extra]
    w.config = w.config.model_copy(update={"services": parse_config(
        {**data, "services": managed, "outcomes_topic": w.outcomes_topic}).services})
    w.clock.set(ANCHOR + scenario.delivered)
    return w


def send(w: FastWorld, name: str, command_id: str, **fields: Any):
    body = {"command": name, "command_id": command_id, "requested_by": OPERATOR, "reason": "INC-9", **fields}
    [outcome] = handle_command(event(json.dumps(body).encode(), f"m-{command_id}"), w.config, w.adapters)
    return outcome


def patches(w: FastWorld) -> int:
    return w.standins.vpcaccess.count("PatchConnector")


def test_an_approve_of_a_connector_alerts_proposal_is_held_back_by_any_service_behind_the_connector() -> None:
    """The approve read only the pause of the proposal's one service (the one standing for the
    connector): with another service behind the connector paused, it scaled the connector the
    alert's own write would have been held back from."""
    w = world()
    proposed = w.handle(w.alert(SCENARIO))
    assert proposed.status is OutcomeStatus.PROPOSED, proposed.reason
    proposal = w.state.get_record(PROPOSALS, proposed.action.proposal_id)
    other = next(name for name in (ORDERS, PAYMENTS) if name != proposal["service"])
    assert send(w, "pause", "p-1", target=other).status is OutcomeStatus.APPLIED
    held = send(w, "approve", "a-1", params={"proposal_id": proposal["proposal_id"]})
    assert held.status is OutcomeStatus.SKIPPED and f"{other} paused by {OPERATOR}" in held.reason, held.reason
    assert patches(w) == 0
    assert w.state.get_record(PROPOSALS, proposal["proposal_id"])["state"] == "open"   # for after the resume
    assert send(w, "resume", "r-1", target=other).status is OutcomeStatus.APPLIED
    applied = send(w, "approve", "a-2", params={"proposal_id": proposal["proposal_id"]})
    assert applied.status is OutcomeStatus.APPLIED and patches(w) == 1, applied.reason


def test_a_managed_service_that_could_not_be_read_holds_a_connector_alerts_write_by_its_pause() -> None:
    """`ledger` is managed and cannot be read (Cloud Run refuses the caller: PERMISSION_DENIED): whether it
    is behind the connector is unknown. It was not counted, so its pause could not hold the scale back."""
    w = world(LEDGER, one_way=True, first=True)
    w.standins.run.add_service(LEDGER)
    assert send(w, "pause", "p-1", target=LEDGER).status is OutcomeStatus.APPLIED
    w.standins.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService")  # ledger's, read first
    held = w.handle(w.alert(SCENARIO))
    assert held.status is OutcomeStatus.SKIPPED and f"{LEDGER} paused by {OPERATOR}" in held.reason, held.reason
    assert "could not be read during the alert" in held.reason, held.reason
    assert patches(w) == 0
    assert send(w, "resume", "r-1", target=LEDGER).status is OutcomeStatus.APPLIED
    applied = w.handle(w.alert(SCENARIO, message_id="2"))
    assert applied.status is OutcomeStatus.APPLIED and patches(w) == 1, applied.reason


# A managed service whose read answers NOT_FOUND (deleted, the config not yet updated) exists nowhere, so no
# revision of it serves through the connector: its pause no longer holds back a write made for the
# connector's users, on the alert's path or on an approve; the diagnosis names it as gone. Any other refusal
# leaves it unknown, and its pause holds the write back (the test above, and the rows below).
@pytest.mark.parametrize("code, held", [
    (None, False),                                     # NOT_FOUND: the stand-in holds no such service
    (grpc.StatusCode.PERMISSION_DENIED, True),
    (grpc.StatusCode.FAILED_PRECONDITION, True),
])
def test_a_deleted_managed_service_does_not_hold_back_a_connector_alerts_write(code, held) -> None:
    w = world(LEDGER, one_way=True, first=True)
    if code is not None:
        w.standins.run.add_service(LEDGER)
        w.standins.run.faults.fail_next(1, code, method="GetService")
    assert send(w, "pause", "p-1", target=LEDGER).status is OutcomeStatus.APPLIED
    outcome = w.handle(w.alert(SCENARIO))
    if held:
        assert outcome.status is OutcomeStatus.SKIPPED and f"{LEDGER} paused by" in outcome.reason, outcome.reason
        assert patches(w) == 0
        return
    assert outcome.status is OutcomeStatus.APPLIED and patches(w) == 1, outcome.reason
    summary = outcome.diagnosis.summary
    assert "ledger no longer exists (its read answered NOT_FOUND)" in summary, summary
    assert "not readable" not in summary, summary


@pytest.mark.parametrize("code, held", [
    (None, False),
    (grpc.StatusCode.PERMISSION_DENIED, True),
    (grpc.StatusCode.FAILED_PRECONDITION, True),
])
def test_a_deleted_managed_service_does_not_hold_back_an_approve(code, held) -> None:
    """The proposal is made with `ledger` on another connector; by the approve it is deleted (NOT_FOUND) or
    cannot be read, and paused. The read that failed is the approve's own, now: the answer says so (not "during
    the alert", which read it), with the refusal, and what the operator can do."""
    w = world(LEDGER, first=True)
    w.standins.run.add_service(LEDGER)
    _deploy(w, LEDGER, "ledger-00001-aaa", -60, None)
    proposed = w.handle(w.alert(SCENARIO))
    assert proposed.status is OutcomeStatus.PROPOSED, proposed.reason
    assert send(w, "pause", "p-1", target=LEDGER).status is OutcomeStatus.APPLIED
    if code is None:
        w.standins.run.delete_service(LEDGER)
    else:
        w.standins.run.faults.fail_next(1, code, method="GetService")
    outcome = send(w, "approve", "a-1", params={"proposal_id": proposed.action.proposal_id})
    if held:
        assert outcome.status is OutcomeStatus.SKIPPED and f"{LEDGER} paused by" in outcome.reason, outcome.reason
        _approves_read_named(outcome.reason, w, code)
        assert patches(w) == 0
    else:
        assert outcome.status is OutcomeStatus.APPLIED and patches(w) == 1, outcome.reason


def _approves_read_named(reason: str, w: FastWorld, code: grpc.StatusCode, alert_too: bool = False) -> None:
    """The approve's answer names its own read of the paused service as the one that failed, when (now), with
    the refusal, and what the operator can do; "during the alert" only where the alert's read failed too."""
    said = (f"{LEDGER} could not be read by this approve (its own read of Cloud Run at "
            f"{w.clock.now():%Y-%m-%d %H:%M:%S} UTC: GetService {LEDGER}",
            code.name.title().replace("_", ""),   # the refusal, as google-api-core's exception names it
            f"so it may be behind {SHARED}",
            "once it can be read, approve again", f"runwarden resume --target {LEDGER}")
    assert [words for words in said if words not in reason] == [], reason
    assert ("could not be read during the alert either" in reason) is alert_too, reason
    assert "could not be read during the alert, so" not in reason, reason


@pytest.mark.parametrize("code", [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION])
def test_an_approve_whose_read_of_a_service_unread_at_the_alert_fails_again_says_both(code) -> None:
    """`ledger` could not be read when the alert came (its pause is kept with the proposal), nor by the approve:
    both reads are named, the approve's with its time and refusal."""
    w = world(LEDGER, first=True)
    w.standins.run.add_service(LEDGER)
    w.standins.run.faults.fail_next(1, code, method="GetService")   # the alert's read of ledger, read first
    proposed = w.handle(w.alert(SCENARIO))
    assert proposed.status is OutcomeStatus.PROPOSED, proposed.reason
    assert send(w, "pause", "p-1", target=LEDGER).status is OutcomeStatus.APPLIED
    w.standins.run.faults.fail_next(1, code, method="GetService")   # the approve's
    outcome = send(w, "approve", "a-1", params={"proposal_id": proposed.action.proposal_id})
    assert outcome.status is OutcomeStatus.SKIPPED and f"{LEDGER} paused by" in outcome.reason, outcome.reason
    _approves_read_named(outcome.reason, w, code, alert_too=True)
    assert patches(w) == 0


def _deploy(w: FastWorld, service: str, revision: str, minutes: int, connector: str | None) -> None:
    """A revision of `service` deployed `minutes` after the anchor, serving all its traffic (LATEST)."""
    from datetime import timedelta

    w.standins.run.add_revision(service, revision, ANCHOR + timedelta(minutes=minutes), vpc_connector=connector)


def test_an_approve_is_refused_when_a_managed_service_moved_onto_the_connector_since_the_proposal() -> None:
    """The approve checked the services stored with the proposal: `ledger`, deployed onto the connector after
    the proposal, was neither diagnosed nor held back by its pause; the connector was scaled on a decision
    that never weighed it. Now the approve re-reads who is behind the connector and refuses, naming it."""
    w = world(LEDGER)
    w.standins.run.add_service(LEDGER)
    _deploy(w, LEDGER, "ledger-00001-aaa", -60, None)    # not behind the connector when the alert comes
    proposed = w.handle(w.alert(SCENARIO))
    assert proposed.status is OutcomeStatus.PROPOSED, proposed.reason
    proposal = w.state.get_record(PROPOSALS, proposed.action.proposal_id)
    assert LEDGER not in proposal["on_behalf"]
    _deploy(w, LEDGER, "ledger-00002-bbb", 1, SHARED)      # moved onto it since
    refused = send(w, "approve", "a-1", params={"proposal_id": proposal["proposal_id"]})
    assert refused.status is OutcomeStatus.SKIPPED, refused.reason
    assert patches(w) == 0, refused.reason
    assert f"{LEDGER} now uses {SHARED}" in refused.reason, refused.reason
    # Its policy lacks allow_one_way: the scale it advises is an operator's command (shared/commands/connector.py).
    assert (f"runwarden command scale_connector --target {SHARED} --param ... --reason '...' sent by a principal "
            f"in operators, as its requested_by") in refused.reason, refused.reason
    assert (f"only operators may scale_connector a connector whose policy lacks allow_one_way (as "
            f"{SHARED.rsplit('/', 1)[-1]}'s does)") in refused.reason, \
        refused.reason
    assert w.state.get_record(PROPOSALS, proposal["proposal_id"])["state"] == "refused"


def test_an_approve_with_the_same_services_behind_the_connector_still_applies() -> None:
    w = world(LEDGER, one_way=False)
    w.standins.run.add_service(LEDGER)
    _deploy(w, LEDGER, "ledger-00001-aaa", -60, None)
    proposed = w.handle(w.alert(SCENARIO))
    assert proposed.status is OutcomeStatus.PROPOSED, proposed.reason
    applied = send(w, "approve", "a-1", params={"proposal_id": proposed.action.proposal_id})
    assert applied.status is OutcomeStatus.APPLIED and patches(w) == 1, applied.reason


# `ledger` could not be read when the alert came (kept with the proposal as maybe behind the connector) and is
# paused; the approve reads it. Its pause holds the approve back only while that read leaves it maybe behind
# (it fails again: the test above); read and found elsewhere, or gone, it holds nothing back, and the answer
# says what the approve read; read and found behind the connector, the approval is refused for a person to
# decide afresh (its state was never weighed).
@pytest.mark.parametrize("now, status, said", [
    ("elsewhere", OutcomeStatus.APPLIED,
     f"{LEDGER}, which could not be read during the alert, was read by this approve at {{now}}: no revision of it "
     f"serving traffic names {SHARED}, so it is not behind it and its pause holds nothing back"),
    ("deleted", OutcomeStatus.APPLIED,
     f"{LEDGER}, which could not be read during the alert, was read by this approve at {{now}}: Cloud Run answers "
     f"NOT_FOUND (it no longer exists), so it is not behind {SHARED} and its pause holds nothing back"),
    ("behind", OutcomeStatus.SKIPPED, f"{LEDGER} now uses {SHARED}"),
])
def test_an_approve_that_reads_a_paused_service_unread_at_the_alert_acts_on_what_it_read(now, status, said) -> None:
    """Before, the approve kept the alert's "could not be read" for `ledger` whatever its own read found: a
    service it had just read and found on no connector (or deleted) held the scale back by its pause, the
    answer saying that ledger "could not be read during the alert", and the operator told to "approve again
    once it can be read", which could never change the answer."""
    w = world(LEDGER, first=True)
    w.standins.run.add_service(LEDGER)
    _deploy(w, LEDGER, "ledger-00001-aaa", -60, None)
    assert send(w, "pause", "p-1", target=LEDGER).status is OutcomeStatus.APPLIED
    w.standins.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService")   # the alert's
    proposed = w.handle(w.alert(SCENARIO))
    assert proposed.status is OutcomeStatus.PROPOSED, proposed.reason
    proposal = w.state.get_record(PROPOSALS, proposed.action.proposal_id)
    assert LEDGER in proposal["maybe_behind"], proposal
    if now == "deleted":
        w.standins.run.delete_service(LEDGER)
    elif now == "behind":
        _deploy(w, LEDGER, "ledger-00002-bbb", 1, SHARED)
    outcome = send(w, "approve", "a-1", params={"proposal_id": proposal["proposal_id"]})
    told = " ".join([outcome.reason, *outcome.notes])
    assert outcome.status is status, told
    assert said.format(now=f"{w.clock.now():%Y-%m-%d %H:%M:%S} UTC") in told, told
    assert patches(w) == (1 if status is OutcomeStatus.APPLIED else 0), told
    assert "could not be read during the alert, so" not in told, told
