"""An operator's realistic mistakes and races with commands, each answered specifically, under its
command_id, with nothing acting twice or outside its bounds and nothing left unsaid. Through the real entry
point (`handle_command` on a Pub/Sub push's data), on in-process parts (tests/property/fast.py); the races on
Firestore itself are in tests/integration/test_commands.py (two operators deciding one proposal at once)."""
from __future__ import annotations

import contextlib
import io
import itertools
import json
from datetime import datetime, timedelta
from typing import Any, Callable

import pytest

from shared.commands import handle_command
from shared.outcomes import Outcome, OutcomeStatus
from tests.integration.world import SERVICE, event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR

OPERATOR = "alice@example.com"
_messages = itertools.count(1)
MISSING = object()   # a field left out of the body
OTHER_SERVICE = SERVICE.replace("/services/backend", "/services/frontend")
REJECTED, SKIPPED, APPLIED, REPORTED = (OutcomeStatus.REJECTED, OutcomeStatus.SKIPPED, OutcomeStatus.APPLIED,
                                        OutcomeStatus.REPORTED)


def _world(scenario: str, one_way: bool = True) -> FastWorld:
    return FastWorld(seeded_copy(scenario, None), ANCHOR, operators=[OPERATOR],
                     bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": one_way,
                                             "max_instances_ceiling": 6}]})


def _send(w: FastWorld, body: dict[str, Any], published: datetime | None = None) -> Outcome:
    full = {"command_id": f"c-{next(_messages)}", "requested_by": OPERATOR, "reason": "INC-7", **body}
    full = {key: value for key, value in full.items() if value is not MISSING}
    data = event(json.dumps(full).encode(), f"m-{next(_messages)}")
    data["message"]["publishTime"] = (published or w.clock.now()).isoformat().replace("+00:00", "Z")
    with contextlib.redirect_stdout(io.StringIO()):
        [outcome] = handle_command(data, w.config, w.adapters)
    assert outcome.command_id == full["command_id"]
    return outcome


def _writes(w: FastWorld) -> int:
    return w.standins.vpcaccess.count("PatchConnector") + w.standins.run.count("UpdateService")


def _scale(**params: Any) -> dict[str, Any]:
    return {"command": "scale_connector", "target": CONNECTOR, "params": params}


def _rollback(revision: str | None = None, target: str = SERVICE, **extra: Any) -> dict[str, Any]:
    return {"command": "rollback_traffic", "target": target, **({"params": {"revision": revision}} if revision else {}),
            **extra}


def _connector(**fields: Any) -> Callable[[FastWorld], None]:
    return lambda w: w.standins.vpcaccess.set_connector(CONNECTOR, **fields)


def _service_gone(w: FastWorld) -> None:
    """The service the config names is gone from Cloud Run (deleted, or the config names the wrong project)."""
    with w.standins.run.lock:
        del w.standins.run._services[SERVICE]


def _nothing(_: FastWorld) -> None:
    return None


# (scenario, set-up, the body, the status, what the answer must say)
MISTAKES: dict[str, tuple[str, Callable[[FastWorld], None], dict[str, Any], OutcomeStatus, tuple[str, ...]]] = {
    "a service Runwarden does not manage": (
        "bad_revision", _nothing, _rollback("frontend-00001-abc", OTHER_SERVICE), REJECTED,
        ("target:", "frontend is not in the inventory", "services list does not name it")),
    "a connector named in another region": (
        "connector_saturation", _nothing, {**_scale(max_instances=5),
                                           "target": CONNECTOR.replace("us-central1", "europe-west1")}, REJECTED,
        ("target:", "not in the inventory", f"(the inventory has {CONNECTOR})")),
    "max_instances above the policy's ceiling": (
        "connector_saturation", _nothing, _scale(max_instances=8), REJECTED,
        ("params: outside bounds", "max_instances 8 is above the policy's ceiling of 6")),
    "max_instances above the API's 10": (
        "connector_saturation", _nothing, _scale(max_instances=11), REJECTED,
        ("command.params.max_instances", "less than or equal to 10")),
    "max_instances at min_instances": (
        "connector_saturation", _connector(minInstances=4, maxInstances=5), _scale(max_instances=4), REJECTED,
        ("min_instances 4 is not below max_instances 4",)),
    "max_instances below the connector's own": (
        "connector_saturation", _connector(maxInstances=5), _scale(max_instances=4), REJECTED,
        ("max_instances would go down from 5 to 4",)),
    "a machine type downgrade": (
        "connector_saturation", _connector(machineType="e2-standard-4"), _scale(machine_type="e2-micro"), REJECTED,
        ("machine type would be downgraded from e2-standard-4 to e2-micro",)),
    "the connector exactly as it is": (
        "connector_saturation", _nothing, _scale(max_instances=3), SKIPPED, ("already e2-micro, 2-3", "nothing to do")),
    "a rollback to a revision that does not exist": (
        "bad_revision", _nothing, _rollback("backend-00009-zzz"), REJECTED,
        ("params.revision: backend-00009-zzz is not a revision of backend", "backend-00001-abc, backend-00002-xyz")),
    # Cloud Run's revision names are lowercase (RFC 1035 labels): one typed in capitals names the one revision it
    # spells, when the service has it, and is never acted on.
    "a rollback to a revision typed in capitals": (
        "bad_revision", _nothing, _rollback("Backend-00001-ABC"), REJECTED,
        ("params.revision", "'Backend-00001-ABC' is not a revision of backend", "lowercase",
         "did you mean 'backend-00001-abc'?", "under a new command_id", "nothing was written")),
    "a rollback to a revision typed in capitals that the service does not have": (
        "bad_revision", _nothing, _rollback("Backend-00009-ZZZ"), REJECTED,
        ("params.revision", "'Backend-00009-ZZZ' is not a revision of backend", "lowercase",
         "backend-00001-abc, backend-00002-xyz", "under a new command_id")),
    "a dry run of a rollback to a revision typed in capitals": (
        "bad_revision", _nothing, _rollback("BACKEND-00001-abc", dry_run=True), REJECTED,
        ("params.revision", "did you mean 'backend-00001-abc'?")),
    "a rollback to the revision already serving": (
        "bad_revision", _nothing, _rollback("backend-00002-xyz"), SKIPPED, ("already serves 100%", "nothing to do")),
    "dry_run as a string": (
        "connector_saturation", _nothing, {**_scale(max_instances=5), "dry_run": "true"}, REJECTED,
        ("command.dry_run", "got the string 'true': send true, without quotes")),
    "a machine type in capitals": (
        "connector_saturation", _nothing, _scale(machine_type="E2-STANDARD-4"), REJECTED,
        ("command.params.machine_type", "got 'E2-STANDARD-4': did you mean 'e2-standard-4'?")),
    "a machine type of another size": (
        "connector_saturation", _nothing, _scale(machine_type="e2-standard-8"), REJECTED,
        ("command.params.machine_type", "got 'e2-standard-8'", "one of these three", "nothing was scaled")),
    "a share of traffic asked of a rollback": (
        "bad_revision", _nothing, {**_rollback(), "params": {"revision": "backend-00001-abc", "percent": 50}}, REJECTED,
        ("command.params.percent", "no command sends part of a service's traffic", "nothing was written")),
    "a param's typo (max_instance)": (
        "connector_saturation", _nothing, _scale(max_instance=5), REJECTED,
        ("'max_instance' is not a param of scale_connector (did you mean 'max_instances'?)",)),
    "a field's typo (dryrun)": (
        "connector_saturation", _nothing, {**_scale(max_instances=5), "dryrun": True}, REJECTED,
        ("'dryrun' is not a field of scale_connector (did you mean 'dry_run'?)",)),
    "requested_by of spaces": (
        "connector_saturation", _nothing, {**_scale(max_instances=5), "requested_by": "   "}, REJECTED,
        ("command.requested_by", "is blank", "--as PRINCIPAL")),
    "requested_by with spaces around it": (
        "connector_saturation", _nothing, {**_scale(max_instances=5), "requested_by": " alice@example.com "}, REJECTED,
        ("command.requested_by", "' alice@example.com ' has spaces around it: write 'alice@example.com'",
         "nothing was run")),
    "requested_by with a space after it, a read-only command": (
        "bad_revision", _nothing, {"command": "status", "requested_by": "alice@example.com "}, REJECTED,
        ("command.requested_by", "has spaces around it: write 'alice@example.com'")),
    "requested_by with a no-break space around it": (
        "connector_saturation", _nothing, {**_scale(max_instances=5), "requested_by": "\u00a0alice@example.com"},
        REJECTED, ("command.requested_by", "around it: write 'alice@example.com'")),
    "requested_by empty": (
        "connector_saturation", _nothing, {**_scale(max_instances=5), "requested_by": ""}, REJECTED,
        ("command.requested_by", "is empty", "--as PRINCIPAL")),
    "requested_by missing": (
        "connector_saturation", _nothing, {**_scale(max_instances=5), "requested_by": MISSING}, REJECTED,
        ("command.requested_by", "--as PRINCIPAL")),
    "an override by someone not in operators": (
        "bad_revision", _nothing, _rollback("backend-00001-abc", override_limits=True, requested_by="bob@example.com"),
        REJECTED, ("requested_by: 'bob@example.com' is not in operators", "override_limits", "--as PRINCIPAL")),
    # An override not the sender's to use is refused before any "nothing to do": the sender learns it was not
    # theirs, whatever the target's state (nothing is written either way).
    "an override by someone not in operators, to the revision already serving": (
        "bad_revision", _nothing, _rollback("backend-00002-xyz", override_limits=True, requested_by="bob@example.com"),
        REJECTED, ("requested_by: 'bob@example.com' is not in operators", "override_limits")),
    "an override by someone not in operators, a dry run to the revision already serving": (
        "bad_revision", _nothing, _rollback("backend-00002-xyz", override_limits=True, dry_run=True,
                                            requested_by="carol@example.org"),
        REJECTED, ("requested_by: 'carol@example.org' is not in operators", "override_limits")),
    "an override by someone not in operators, the connector exactly as it is": (
        "connector_saturation", _nothing, {**_scale(max_instances=3), "override_limits": True,
                                           "requested_by": "bob@example.com"},
        REJECTED, ("requested_by: 'bob@example.com' is not in operators", "override_limits")),
    "an override by someone not in operators, a restore to LATEST with nothing pinned": (
        "bad_revision", _nothing, {"command": "restore_traffic", "target": SERVICE, "params": {"to_latest": True},
                                   "override_limits": True, "requested_by": "dave@example.com"},
        REJECTED, ("requested_by: 'dave@example.com' is not in operators", "override_limits")),
    "an operator's override to the revision already serving": (
        "bad_revision", _nothing, _rollback("backend-00002-xyz", override_limits=True), SKIPPED,
        ("already serves 100%", "nothing to do")),
    # The config names a target Google says does not exist (deleted, renamed, another project): nothing can be
    # written, so the answer is the command's `rejected` naming the target and the config, not a `failed` write.
    "a rollback of a managed service Cloud Run does not have": (
        "bad_revision", _service_gone, _rollback("backend-00001-abc"), REJECTED,
        ("target:", "backend does not exist", "Cloud Run", "services list names it", "nothing written")),
    "a rollback without a revision of a managed service Cloud Run does not have": (
        "bad_revision", _service_gone, _rollback(), REJECTED, ("target:", "backend does not exist", "nothing written")),
    "a restore of a managed service Cloud Run does not have": (
        "bad_revision", _service_gone, {"command": "restore_traffic", "target": SERVICE, "params": {"to_latest": True}},
        REJECTED, ("target:", "backend does not exist", "nothing written")),
    "a diagnose of a managed service Cloud Run does not have": (
        "bad_revision", _service_gone, {"command": "diagnose", "target": SERVICE}, REJECTED,
        ("target:", "backend does not exist", "services list names it")),
    "a scale of a connector in the policy that VPC Access does not have": (
        "connector_saturation", lambda w: w.standins.vpcaccess.delete_connector(CONNECTOR), _scale(max_instances=5),
        REJECTED, ("target:", "backend-conn does not exist", "VPC Access", "bounds.connectors names it",
                   "nothing written")),
}


@pytest.mark.parametrize("scenario, setup, body, status, said", MISTAKES.values(), ids=MISTAKES.keys())
def test_an_operators_mistake_is_answered_specifically_and_nothing_is_written(scenario, setup, body, status, said):
    w = _world(scenario)
    setup(w)
    outcome = _send(w, {k: v for k, v in body.items() if v is not None} | (
        {} if body.get("requested_by", "") is not None else {"requested_by": MISSING}))
    assert outcome.status is status, outcome.reason
    assert [words for words in said if words not in outcome.reason] == [], outcome.reason
    assert _writes(w) == 0


def _proposed() -> tuple[FastWorld, str]:
    """A connector alert's proposal (its policy leaves the one-way change to a person)."""
    w = _world("connector_saturation", one_way=False)
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = w.handle(w.alert("connector_saturation"))
    assert outcome.status is OutcomeStatus.PROPOSED and outcome.action.proposal_id, outcome.reason
    return w, outcome.action.proposal_id


def _decide(w: FastWorld, proposal_id: str, name: str = "approve") -> Outcome:
    return _send(w, {"command": name, "params": {"proposal_id": proposal_id}})


def test_an_approve_held_back_by_the_kill_switch_says_to_send_it_again_and_applies_once_after_the_resume():
    w, proposal_id = _proposed()
    _send(w, {"command": "pause"})
    held = _decide(w, proposal_id)
    assert held.status is SKIPPED and "kill switch engaged" in held.reason and "once resumed, send it again" in \
        held.reason, held.reason
    _send(w, {"command": "resume"})
    assert _decide(w, proposal_id).status is APPLIED
    for name in ("approve", "reject"):   # already applied: said so, never applied twice
        again = _decide(w, proposal_id, name)
        assert again.status is REJECTED and f"{proposal_id} is already applied by {OPERATOR}" in again.reason
    assert _writes(w) == 1


def test_an_approve_after_the_proposal_expired_is_rejected_naming_when_and_writes_nothing():
    w, proposal_id = _proposed()
    w.at(60 * 24)
    outcome = _decide(w, proposal_id)
    assert outcome.status is REJECTED and f"{proposal_id} expired at" in outcome.reason, outcome.reason
    assert "a new alert makes a new proposal" in outcome.reason and _writes(w) == 0


@pytest.mark.parametrize("published_minutes", [None, 2.0], ids=["sent again", "replayed with its old publish time"])
def test_a_command_replayed_a_day_later_under_its_id_is_the_first_answer_not_a_second_write(published_minutes):
    w = _world("connector_saturation")
    body = {**_scale(max_instances=5), "command_id": "sc-replayed"}
    assert _send(w, body).status is APPLIED
    w.at(60 * 24 + 2)
    published = None if published_minutes is None else ANCHOR + timedelta(minutes=published_minutes)
    again = _send(w, body, published)
    assert again.status is SKIPPED and again.reason.startswith("duplicate: command sc-replayed was already handled")
    assert "applied" in again.reason and _writes(w) == 1
    other = _send(w, {**body, "params": {"max_instances": 6}})
    assert other.status is REJECTED and "sc-replayed was already used" in other.reason and _writes(w) == 1


@pytest.mark.parametrize("scenario, first, second", [
    ("connector_saturation", _scale(max_instances=5), _scale(max_instances=6)),
    ("bad_revision", _rollback("backend-00001-abc"), _rollback("backend-00002-xyz")),
], ids=["two operators scaling one connector", "two operators rolling one service back"])
def test_a_second_operators_write_held_by_the_cooldown_names_the_write_that_took_it(scenario, first, second):
    """The second of two on-call engineers, minutes apart: "acted on at 12:02" alone did not say by whom, to
    what, or that an operator may override it; they could not tell whether their own change was still needed."""
    w = _world(scenario)
    done = _send(w, {**first, "command_id": "first-1"})
    assert done.status is APPLIED, done.reason
    w.at(10)
    held = _send(w, {**second, "requested_by": "bob@example.com"})
    assert held.status is SKIPPED and held.reason.startswith("cooldown:"), held.reason
    said = (f"the last write recorded on it: {first['command']}", f"by {OPERATOR} (command first-1)",
            f"action {done.action.action_id}", "override_limits: true")
    assert [words for words in said if words not in held.reason] == [], held.reason
    assert _writes(w) == 1
