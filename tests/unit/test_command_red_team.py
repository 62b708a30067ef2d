"""Operators' mistakes and races with the kill switch, pauses and approvals, each answered specifically under
its command_id, acting at most once and within bounds (docs/commands.md). Through the real entry point
(`handle_command` on a Pub/Sub push's data), on in-process parts (tests/property/fast.py). The races on
Firestore itself (two operators deciding one proposal at once, a pause landing mid-write) are in
tests/integration/test_commands.py and test_pause_races.py; a command redelivered while its first delivery
runs is in tests/unit/test_command_resends.py.

The list:
 1. the kill switch sent as a command of its own, `kill_switch`, with `enabled: "false"` (a string), or true,
    or no flag, or named for the way to turn it (`disable_kill_switch`);
 2. `requested_by` in IAM's member form (`user:alice@example.com`) for an operator listed by email alone, and a
    service account's (`serviceAccount:…`);
 3. a service account not in operators approving;
 4. a command published with attributes and an empty body;
 5. a pause of a service Runwarden does not manage;
 6. a scale of a connector below its current instances;
 7. an approve and a reject of one proposal within the same second;
 8. an approve arriving after the proposal's incident closed;
 9. a resume sent as a dry run (which must not release the switch);
10. an approve held back by the kill switch, then the resume: the proposal stays open, applied only by a
    person's approve sent again, never by the sweep."""
from __future__ import annotations

import contextlib
import io
import itertools
import json
from typing import Any

import pytest

from shared.commands import handle_command
from shared.outcomes import Outcome, OutcomeStatus
from shared.remediation.records import FLAGS, KILL_SWITCH
from tests.integration.world import SERVICE, event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR

OPERATOR = "alice@example.com"
SCHEDULER = "runwarden-ops@demo-project.iam.gserviceaccount.com"
OTHER_SERVICE = SERVICE.replace("/services/backend", "/services/frontend")
REJECTED, SKIPPED, APPLIED, DRY_RUN = (OutcomeStatus.REJECTED, OutcomeStatus.SKIPPED, OutcomeStatus.APPLIED,
                                       OutcomeStatus.DRY_RUN)
_ids = itertools.count(1)


def _world(scenario: str = "connector_saturation", one_way: bool = True) -> FastWorld:
    return FastWorld(seeded_copy(scenario, None), ANCHOR, operators=[OPERATOR, SCHEDULER],
                     bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": one_way,
                                             "max_instances_ceiling": 6}]})


def _data(w: FastWorld, body: Any, attributes: dict[str, str] | None = None) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    data = event(raw, f"m-{next(_ids)}")
    data["message"]["publishTime"] = w.clock.now().isoformat().replace("+00:00", "Z")
    if attributes:
        data["message"]["attributes"] = attributes
    return data


def _send(w: FastWorld, body: dict[str, Any], attributes: dict[str, str] | None = None) -> Outcome:
    full = {"command_id": f"rt-{next(_ids)}", "requested_by": OPERATOR, "reason": "INC-9", **body}
    with contextlib.redirect_stdout(io.StringIO()):
        [outcome] = handle_command(_data(w, full, attributes), w.config, w.adapters)
    assert outcome.command_id == full["command_id"]
    return outcome


def _writes(w: FastWorld) -> int:
    return w.standins.vpcaccess.count("PatchConnector") + w.standins.run.count("UpdateService")


def _switch_engaged(w: FastWorld) -> bool:
    flag = w.state.get_record(FLAGS, KILL_SWITCH)
    return bool(flag and flag.get("engaged"))


def _proposed(w: FastWorld) -> str:
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = w.handle(w.alert("connector_saturation"))
    assert outcome.status is OutcomeStatus.PROPOSED, outcome.reason
    return outcome.action.proposal_id


def _approve(proposal: str, **extra: Any) -> dict[str, Any]:
    return {"command": "approve", "params": {"proposal_id": proposal}, **extra}


# (the body, its status, what the answer must say, the kill switch engaged after it)
SWITCH_NAMES: dict[str, tuple[dict[str, Any], OutcomeStatus, tuple[str, ...], bool]] = {
    "kill_switch with enabled: \"false\" (a string)": (
        {"command": "kill_switch", "params": {"enabled": "false"}}, REJECTED,
        ("'kill_switch' is not a command", "released by 'resume'", "params.enabled \"false\" (a str, not a JSON "
         "boolean) asks to release it", "send {\"command\": \"resume\""), True),
    "kill_switch with enabled: true": (
        {"command": "kill_switch", "params": {"enabled": True}}, REJECTED,
        ("'kill_switch' is not a command", "params.enabled true asks to engage it", "send {\"command\": \"pause\""),
        True),
    "killSwitch with engaged: 0 at the top level": (
        {"command": "killSwitch", "engaged": 0}, REJECTED,
        ("engaged 0 (a int, not a JSON boolean) asks to release it", "runwarden resume"), True),
    "kill_switch with no flag": (
        {"command": "kill_switch"}, REJECTED,
        ("engaged by 'pause' without a target and released by 'resume'", "this runs neither"), True),
    "disable_kill_switch": (
        {"command": "disable_kill_switch"}, REJECTED, ("its name asks to release it", "runwarden resume"), True),
    "enable_kill_switch with enabled: false": (
        {"command": "enable_kill_switch", "params": {"enabled": False}}, REJECTED,
        ("its name and params.enabled false ask for both", "this runs neither"), True),
}


@pytest.mark.parametrize("body, status, said, engaged_after", SWITCH_NAMES.values(), ids=SWITCH_NAMES.keys())
def test_the_kill_switch_named_as_a_command_says_which_command_turns_it_that_way(body, status, said, engaged_after):
    w = _world()
    assert _send(w, {"command": "pause"}).status is APPLIED
    outcome = _send(w, body)
    assert outcome.status is status, outcome.reason
    assert [words for words in said if words not in outcome.reason] == [], outcome.reason
    assert _switch_engaged(w) is engaged_after   # nothing run: the switch stays as it was


# (requested_by, what the answer must say, what it must not)
MEMBER_FORMS = {
    "an operator's email in IAM's user: form": (
        "user:alice@example.com", ("'user:alice@example.com' is not in operators", "IAM's member form of "
                                   "'alice@example.com', which is in operators", "requested_by 'alice@example.com'"),
        "have a principal in operators"),
    "an operator service account in IAM's serviceAccount: form": (
        f"serviceAccount:{SCHEDULER}", (f"IAM's member form of '{SCHEDULER}'", f"requested_by '{SCHEDULER}'"),
        "have a principal in operators"),
    "a service account not in operators": (
        "deployer@demo-project.iam.gserviceaccount.com",
        ("'deployer@demo-project.iam.gserviceaccount.com' is not in operators", "have a principal in operators"),
        "member form"),
    "a user: form of someone not in operators": (
        "user:mallory@example.com", ("'user:mallory@example.com' is not in operators",
                                     "have a principal in operators"), "member form"),
}


@pytest.mark.parametrize("requested_by, said, unsaid", MEMBER_FORMS.values(), ids=MEMBER_FORMS.keys())
def test_an_approve_from_a_principal_in_iams_member_form_is_refused_naming_the_email_to_send(requested_by, said,
                                                                                             unsaid):
    w = _world(one_way=False)
    proposal = _proposed(w)
    outcome = _send(w, _approve(proposal, requested_by=requested_by))
    assert outcome.status is REJECTED, outcome.reason
    assert [words for words in said if words not in outcome.reason] == [], outcome.reason
    assert unsaid not in outcome.reason, outcome.reason
    assert _writes(w) == 0
    assert _send(w, _approve(proposal)).status is APPLIED and _writes(w) == 1   # the operator's own: once


def test_attributes_with_an_empty_body_are_rejected_saying_to_put_the_command_in_the_body():
    w = _world()
    data = _data(w, b"", {"command": "pause", "command_id": "pz-attr", "requested_by": OPERATOR})
    with contextlib.redirect_stdout(io.StringIO()):
        [outcome] = handle_command(data, w.config, w.adapters)
    assert outcome.status is REJECTED and "put the command in the message body" in outcome.reason, outcome.reason
    assert not _switch_engaged(w)


def test_a_pause_of_a_service_not_managed_is_rejected_naming_the_one_managed_and_pauses_nothing():
    w = _world("bad_revision")
    outcome = _send(w, {"command": "pause", "target": OTHER_SERVICE})
    assert outcome.status is REJECTED and "frontend is not in the inventory" in outcome.reason, outcome.reason
    assert f"(the inventory has {SERVICE})" in outcome.reason
    assert _send(w, {"command": "status"}).status is OutcomeStatus.REPORTED
    assert not _switch_engaged(w)


@pytest.mark.parametrize("current, asked, said", [
    ({"maxInstances": 5}, 4, "max_instances would go down from 5 to 4"),
    ({"minInstances": 3, "maxInstances": 4}, 3, "min_instances 3 is not below max_instances 3"),
], ids=["below its max", "down to its min"])
def test_a_scale_below_the_connectors_current_instances_is_rejected_and_nothing_written(current, asked, said):
    w = _world()
    w.standins.vpcaccess.set_connector(CONNECTOR, **current)
    outcome = _send(w, {"command": "scale_connector", "target": CONNECTOR, "params": {"max_instances": asked}})
    assert outcome.status is REJECTED and said in outcome.reason, outcome.reason
    assert _writes(w) == 0


@pytest.mark.parametrize("first", ["reject", "approve"])
def test_an_approve_and_a_reject_within_one_second_decide_once_and_the_second_names_the_first(first):
    w = _world(one_way=False)
    proposal = _proposed(w)
    second = "approve" if first == "reject" else "reject"
    decided = _send(w, {"command": first, "params": {"proposal_id": proposal}})
    late = _send(w, {"command": second, "params": {"proposal_id": proposal}, "requested_by": SCHEDULER})
    assert decided.status is (APPLIED if first == "approve" else OutcomeStatus.REJECTED) or \
        decided.status.value == "applied", decided.reason
    assert late.status is REJECTED and f"{proposal} is already" in late.reason and OPERATOR in late.reason, \
        late.reason
    assert _writes(w) == (1 if first == "approve" else 0)


def test_an_approve_after_its_incident_closed_is_held_back_and_writes_nothing():
    w = _world(one_way=False)
    proposal = _proposed(w)
    w.at(10)
    with contextlib.redirect_stdout(io.StringIO()):
        closed = w.handle(w.alert("connector_saturation", message_id="closed", state="closed",
                                  ended_at=ANCHOR.replace(minute=9)))
    assert closed.status.value == "resolved", closed.reason
    outcome = _send(w, _approve(proposal))
    assert outcome.status is SKIPPED and "closed" in outcome.reason, outcome.reason
    assert _writes(w) == 0


def test_a_resume_sent_as_a_dry_run_leaves_the_kill_switch_engaged_and_says_so():
    w = _world()
    _send(w, {"command": "pause"})
    outcome = _send(w, {"command": "resume", "dry_run": True})
    assert outcome.status is DRY_RUN and "nothing written" in outcome.reason, outcome.reason
    assert _switch_engaged(w)
    held = _send(w, {"command": "scale_connector", "target": CONNECTOR, "params": {"max_instances": 5}})
    assert held.status is SKIPPED and "kill switch engaged" in held.reason and _writes(w) == 0


def test_an_approve_held_by_the_switch_is_not_applied_by_the_resume_or_the_sweep_only_by_a_person():
    w = _world(one_way=False)
    proposal = _proposed(w)
    _send(w, {"command": "pause"})
    held = _send(w, _approve(proposal))
    assert held.status is SKIPPED and "kill switch engaged" in held.reason, held.reason
    w.at(3)
    _send(w, {"command": "resume"})
    w.at(4)
    with contextlib.redirect_stdout(io.StringIO()):
        w.command({"command": "sweep"})
    assert _writes(w) == 0   # the resume and the sweep release nothing
    status = _send(w, {"command": "status"})
    assert proposal in status.reason or proposal in json.dumps(status.model_dump(mode="json")), status.reason
    again = _send(w, _approve(proposal))
    assert again.status is APPLIED and _writes(w) == 1, again.reason




@pytest.mark.parametrize("how", ["to_latest", "action_id"])
def test_a_restore_that_reverses_another_operators_rollback_names_it(how):
    """Two operators on one incident: alice rolls back; a minute later bob, not knowing, restores. Both are
    `applied`, and bob's answer said only "it undoes a change of Runwarden's": it did not say that it had just
    reversed alice's rollback, whose, to which revision, or when. Now it names each rollback it undid."""
    w = _world("bad_revision")
    rolled = _send(w, {"command": "rollback_traffic", "target": SERVICE, "params": {"revision": "backend-00001-abc"}})
    assert rolled.status is OutcomeStatus.APPLIED, rolled.reason
    params = {"to_latest": True} if how == "to_latest" else {"action_id": rolled.action.action_id}
    restored = _send(w, {"command": "restore_traffic", "target": SERVICE, "params": params,
                         "requested_by": "bob@example.com"})
    assert restored.status is OutcomeStatus.APPLIED and _writes(w) == 2, restored.reason
    said = (f"This restore undid rollback {rolled.action.action_id} (to backend-00001-abc, command "
            f"{rolled.command_id} by {OPERATOR}, applied at {w.clock.now():%Y-%m-%d %H:%M:%S} UTC); the sweep no "
            "longer judges it")
    assert said in restored.notes, restored.notes


# Another write to the service is in flight (its write claim held: alice's rollback, sent and waiting on Cloud
# Run) when bob's command reads the service as it still is and finds nothing to do. The answer said only
# "no pin to release" or "already serves": the pin landing a second later was never mentioned, and bob, told
# nothing was pinned, went on. Now each "nothing to do" names the write in flight and that what serves may
# change when it ends.
@pytest.mark.parametrize("command, params", [
    ("restore_traffic", {"to_latest": True}),
    ("rollback_traffic", {"revision": "backend-00002-xyz"}),
])
def test_nothing_to_do_while_another_write_to_the_service_is_in_flight_says_so(command, params):
    from datetime import timedelta

    from shared.remediation.guardrails import WRITING

    from sandbox.standins.run import TrafficSeed

    w = _world("bad_revision")
    # As it still is: all LATEST (nothing pinned), or backend-00002-xyz pinned at 100%.
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100, None if command == "restore_traffic" else params["revision"])])
    w.state.claim(WRITING, SERVICE, "m-alert-7:1", timedelta(minutes=3), w.clock.now())
    outcome = _send(w, {"command": command, "target": SERVICE, "params": params, "requested_by": "bob@example.com"})
    assert outcome.status is OutcomeStatus.SKIPPED and _writes(w) == 0, outcome.reason
    said = (f"but another write to {SERVICE} is in flight (its write claim held by m-alert-7:1 since "
            f"{w.clock.now():%H:%M:%S}Z", "what it serves may change when that write ends",
            f"runwarden status --target {SERVICE}")
    assert [words for words in said if words not in outcome.reason] == [], outcome.reason


def _escalated_plan(w: FastWorld) -> str:
    """An escalated plan holding incident inc-held's automatic rollback of SERVICE, as the sweep leaves one."""
    from datetime import timedelta

    from shared.remediation.guardrails import claim_key
    from shared.remediation.records import INTENTS, intent_key

    key = intent_key("inc-held", "m-1")
    w.state.put_record(INTENTS, key, {
        "incident_id": "inc-held", "message_id": "m-1", "owner": "m-1:1",
        "claim_key": claim_key("inc-held", SERVICE, "rollback_traffic"), "action": "rollback_traffic",
        "target": SERVICE, "service": SERVICE, "noted_at": w.clock.now(),
        "expires_at": w.clock.now() + timedelta(days=7), "state": "escalated"})
    return key


@pytest.mark.parametrize("sent", ["intent inc-held|m-1", "(intent inc-held|m-1).", " inc-held|m-1 ", "'inc-held|m-1'"])
def test_a_release_of_a_key_copied_with_what_surrounded_it_names_the_key_and_releases_nothing(sent):
    """The key an `escalated` answer gives as "(intent inc-held|m-1)", copied with the word or the parenthesis:
    answered "no plan …" alone, the person had to find which characters were not the key. Now the plan that
    exists under the key trimmed is named, and nothing is released: only the person's resend acts."""
    from shared.remediation.records import INTENTS

    w = _world("bad_revision")
    key = _escalated_plan(w)
    outcome = _send(w, {"command": "release", "target": SERVICE, "params": {"intent": sent}})
    assert outcome.status is REJECTED, outcome.reason
    assert f"did you mean {key!r}? a plan has that key: send the release again with params.intent {key!r}" \
        in outcome.reason, outcome.reason
    assert w.state.get_record(INTENTS, key)["state"] == "escalated"
    assert _send(w, {"command": "release", "target": SERVICE, "params": {"intent": key}}).status is APPLIED


def test_a_release_of_a_key_no_plan_has_trimmed_or_not_guesses_nothing():
    w = _world("bad_revision")
    _escalated_plan(w)
    outcome = _send(w, {"command": "release", "target": SERVICE, "params": {"intent": "intent inc-other|m-1"}})
    assert outcome.status is REJECTED and "no plan intent inc-other|m-1" in outcome.reason, outcome.reason
    assert "did you mean" not in outcome.reason


@pytest.mark.parametrize("body, said", [
    ({"command": "approve", "params": "p-3f9c2a1b7d40"}, 'send params as an object, {"proposal_id": '),
    ({"command": "scale_connector", "target": CONNECTOR, "params": {"max_instances": 50}},
     "(got 50): VPC Access allows at most 10 instances"),
    ({"command": "release", "target": SERVICE, "params": {"intent": "inc-held"}},
     "'inc-held' is not an escalated plan's key, INCIDENT|MESSAGE"),
], ids=["params as a bare string", "max_instances past 10", "an intent without its message id"])
def test_a_param_refused_is_answered_under_the_command_id_saying_what_to_send(body, said):
    w = _world()
    outcome = _send(w, body)
    assert outcome.status is REJECTED and said in outcome.reason, outcome.reason
    assert _writes(w) == 0


@pytest.mark.parametrize("command", ["approve", "reject"])
def test_a_decision_on_a_proposal_id_no_proposal_has_names_the_open_ones_and_decides_nothing(command):
    """A proposal id mistyped by a digit was answered "no proposal p-…" alone: the person had to run status and
    compare ids. Now the open proposals (of the target, when the command names one) are named beside it."""
    w = _world(one_way=False)
    proposal = _proposed(w)
    outcome = _send(w, {"command": command, "params": {"proposal_id": "p-000000000000"}})
    assert outcome.status is REJECTED, outcome.reason
    assert f"no proposal p-000000000000; open now: {proposal} (scale_connector on {CONNECTOR}, expires " \
        in outcome.reason and "send the id of the one meant" in outcome.reason, outcome.reason
    other = _send(w, {"command": command, "target": SERVICE, "params": {"proposal_id": "p-000000000000"}})
    assert f"(no proposal for {SERVICE} is open now: a `proposed` outcome gives the id to send" in other.reason, \
        other.reason
    assert _writes(w) == 0
    assert _send(w, _approve(proposal)).status is APPLIED


def test_a_decision_on_an_unknown_proposal_with_none_open_says_none_is():
    w = _world()
    outcome = _send(w, {"command": "approve", "params": {"proposal_id": "p-000000000000"}})
    assert outcome.status is REJECTED and "(no proposal is open now: a `proposed` outcome gives the id to send; " \
        "runwarden command status lists the open ones)" in outcome.reason, outcome.reason


def test_a_resume_whose_target_is_null_leaves_the_kill_switch_engaged_and_says_how_to_send_either():
    """`"target": null` is what a script sends for an empty variable ("target": $TARGET): read as left out, a
    resume meant for one target released the kill switch itself, `applied`."""
    w = _world("bad_revision")
    assert _send(w, {"command": "pause"}).status is APPLIED and _switch_engaged(w)
    outcome = _send(w, {"command": "resume", "target": None})
    assert outcome.status is REJECTED and "to resume every write, leave target out" in outcome.reason, outcome.reason
    assert _switch_engaged(w)
    assert _send(w, {"command": "resume"}).status is APPLIED and not _switch_engaged(w)


def test_a_scale_above_the_policys_ceiling_says_to_send_at_most_the_ceiling_and_how_the_ceiling_is_raised():
    """"above the policy's ceiling of 6" alone left the operator to guess whether to send 6 or to ask for more, and
    where: the ceiling is a config setting, which no command raises."""
    w = _world()
    outcome = _send(w, {"command": "scale_connector", "target": CONNECTOR, "params": {"max_instances": 8}})
    assert outcome.status is REJECTED, outcome.reason
    assert "max_instances 8 is above the policy's ceiling of 6" in outcome.reason and "send max_instances 6 at " \
        "most; raising the ceiling is a config change, not a command: bounds.connectors' max_instances_ceiling " \
        "for " in outcome.reason and "(docs/configuration.md; at most 10" in outcome.reason, outcome.reason
    assert _writes(w) == 0
    assert _send(w, {"command": "scale_connector", "target": CONNECTOR,
                     "params": {"max_instances": 6}}).status is APPLIED


@pytest.mark.parametrize("command", ["approve", "reject"])
def test_a_decision_whose_target_is_null_decides_nothing_and_says_how_to_send_either(command):
    """`"target": null` (a script's empty variable) was read as left out: the check that the proposal is the named
    target's, which the sender asked for, was skipped, and the proposal decided."""
    w = _world(one_way=False)
    proposal = _proposed(w)
    outcome = _send(w, {"command": command, "target": None, "params": {"proposal_id": proposal}})
    assert outcome.status is REJECTED and f"to {command} the proposal whatever its target, leave target out; to " \
        "check that it is one target's, name it" in outcome.reason, outcome.reason
    assert _writes(w) == 0
    assert _send(w, _approve(proposal, target=CONNECTOR)).status is APPLIED


def test_a_release_that_leaves_another_plan_holding_says_what_to_check_before_releasing_it():
    """Another escalated plan of the claim, of another change, keeps holding it: the answer said "release it once
    checked", leaving the person to work out what to check. It now names that plan's write, its resource and where
    to look (the service's current settings, the project's Admin Activity audit log since it was planned)."""
    from shared.remediation.records import INTENTS, intent_key

    w = _world("bad_revision")
    key = _escalated_plan(w)
    other = {**w.state.get_record(INTENTS, key), "message_id": "m-2", "owner": "m-2:1", "params": {"x": 1}}
    w.state.put_record(INTENTS, intent_key("inc-held", "m-2"), other)
    outcome = _send(w, {"command": "release", "target": SERVICE, "params": {"intent": key}})
    assert outcome.status is APPLIED and "stay held by inc-held|m-2" in outcome.reason, outcome.reason
    name = SERVICE.rsplit("/", 1)[-1]
    assert f"before releasing it, check whether this write landed: rollback_traffic on {name}" in outcome.reason
    assert f"gcloud run services describe {name}" in outcome.reason, outcome.reason
    assert "cloudaudit.googleapis.com%2Factivity" in outcome.reason, outcome.reason
    assert "once checked" not in outcome.reason, outcome.reason
