"""A write held back by several pauses names every one of them, and a targeted resume that leaves another pause
holding writes for its target says so. Told "lift this pause" of the first of two (a connector and the service
it is scaled for, or a service and the connector paused under its project's number), an operator resumed it,
read "writes allowed again", approved again and stayed held."""
from __future__ import annotations

import pytest

from shared.clock import FixedClock
from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import HOLDS_NAMED, Gate, pause_key
from shared.remediation.records import FLAGS
from shared.remediation.refusals import PAUSE_HEAD, Held, braked

from tests.integration.world import SERVICE as WORLD_SERVICE
from tests.property.harness import CONNECTOR as WORLD_CONNECTOR
from tests.unit.builders import CONNECTOR, PROJECT, SERVICE, T0
from tests.unit.fakes import MemoryStateStore
from tests.unit.test_brake_named import KILL, engage
from tests.unit.test_command_inputs import patches, proposed, send, world
from tests.unit.test_guardrails import config

BY_NUMBER = CONNECTOR.replace(f"projects/{PROJECT}/", "projects/123456789012/")
OTHERS = [SERVICE.replace("/backend", f"/svc-{n}") for n in range(4)]

# (engaged, the write's target, made for)
ROWS = {
    "the connector and the service it is scaled for": ([CONNECTOR, SERVICE], CONNECTOR, [SERVICE]),
    "the service, and the connector by its project's number": ([SERVICE, BY_NUMBER], CONNECTOR, [SERVICE]),
    "the connector under both spellings and the service": ([CONNECTOR, BY_NUMBER, SERVICE], CONNECTOR, [SERVICE]),
}


def _gate(state: MemoryStateStore) -> Gate:
    return Gate(config(), state, FixedClock(T0), owner="attempt-1")


def _lift(state: MemoryStateStore, name: str) -> None:
    state.update_record(FLAGS, pause_key(name), {"engaged": False})


@pytest.mark.parametrize("engaged, target, made_for", ROWS.values(), ids=ROWS.keys())
def test_every_pause_that_holds_the_write_is_named(engaged, target, made_for):
    state = MemoryStateStore()
    for name in engaged:
        engage(state, name)
    switch = _gate(state).kill_switch(target, on_behalf=made_for)
    refusal = braked(switch, Held.PAUSED)

    assert refusal.startswith(f"{PAUSE_HEAD}: no writes ("), refusal
    assert [name for name in engaged if f"runwarden resume --target {name} --reason" not in refusal] == [], refusal
    assert "lift this pause" not in refusal and "until every one of them is lifted" in refusal, refusal
    assert sorted(switch.pauses) == sorted(engaged)


@pytest.mark.parametrize("engaged, target, made_for", ROWS.values(), ids=ROWS.keys())
def test_one_resume_leaves_the_write_held_by_the_others_and_every_resume_lifts_it(engaged, target, made_for):
    state = MemoryStateStore()
    for name in engaged:
        engage(state, name)
    gate = _gate(state)
    first, *rest = gate.kill_switch(target, on_behalf=made_for).pauses
    _lift(state, first)
    again = gate.kill_switch(target, on_behalf=made_for)
    assert again and sorted(again.pauses) == sorted(rest), again
    for name in rest:
        _lift(state, name)
    assert gate.kill_switch(target, on_behalf=made_for) == ""


def test_past_a_few_pauses_the_rest_are_counted():
    state = MemoryStateStore()
    for name in [CONNECTOR, *OTHERS]:
        engage(state, name)
    switch = _gate(state).kill_switch(CONNECTOR, on_behalf=OTHERS)
    assert f"and {len(OTHERS) + 1 - HOLDS_NAMED} more" in switch, switch
    assert f"{len(OTHERS) + 1} pauses hold this write" in switch, switch
    assert OTHERS[-1] not in switch, switch


def test_an_approve_held_by_two_pauses_names_both_and_the_first_resume_says_the_other_still_holds():
    w, proposal_id = proposed()
    assert send(w, "pause", "p-c", target=WORLD_CONNECTOR).status is OutcomeStatus.APPLIED
    assert send(w, "pause", "p-s", target=WORLD_SERVICE).status is OutcomeStatus.APPLIED

    held = send(w, "approve", "ap-1", params={"proposal_id": proposal_id})
    assert held.status is OutcomeStatus.SKIPPED and patches(w) == 0, held.reason
    assert WORLD_CONNECTOR in held.reason and WORLD_SERVICE in held.reason, held.reason

    resumed = send(w, "resume", "r-c", target=WORLD_CONNECTOR)
    assert resumed.status is OutcomeStatus.APPLIED
    assert "are still held by another pause" in resumed.reason, resumed.reason   # the service uses it (GetService)
    assert f"runwarden resume --target {WORLD_SERVICE}" in resumed.reason, resumed.reason

    again = send(w, "approve", "ap-2", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.SKIPPED and patches(w) == 0, again.reason
    assert WORLD_SERVICE in again.reason and "lift this pause" in again.reason, again.reason


def test_a_service_resumed_while_its_connector_stays_paused_says_so():
    w, _ = proposed()
    assert send(w, "pause", "p-c", target=WORLD_CONNECTOR).status is OutcomeStatus.APPLIED
    assert send(w, "pause", "p-s", target=WORLD_SERVICE).status is OutcomeStatus.APPLIED
    resumed = send(w, "resume", "r-s", target=WORLD_SERVICE)
    assert resumed.status is OutcomeStatus.APPLIED
    assert f"{WORLD_CONNECTOR} is paused" in resumed.reason, resumed.reason
    assert f"runwarden resume --target {WORLD_CONNECTOR}" in resumed.reason, resumed.reason


# (paused, resumed, whether the other pause still holds writes for the resumed target)
RESUMES = {
    "a service paused, its connector resumed": ([SERVICE, CONNECTOR], CONNECTOR, True),
    "the connector paused, a service resumed": ([CONNECTOR, SERVICE], SERVICE, True),
    "the connector by number paused, by id resumed": ([BY_NUMBER, CONNECTOR], CONNECTOR, True),
    "another service paused, a service resumed": ([OTHERS[0], SERVICE], SERVICE, False),
    "a connector in another region paused": ([CONNECTOR.replace("us-central1", "europe-west1"), SERVICE], SERVICE,
                                             False),
}


@pytest.mark.parametrize("paused, resumed, holds", RESUMES.values(), ids=RESUMES.keys())
def test_a_targeted_resume_names_the_pauses_still_holding_its_writes(paused, resumed, holds):
    from shared.commands.pause import _still_held
    flags = [{"kind": "pause", "target": name, "engaged": True} for name in paused if name != resumed]
    said = _still_held(resumed, flags, more=False)
    assert bool(said) is holds, said
    if holds:
        assert f"runwarden resume --target {flags[0]['target']} --reason" in said, said


def _number_spelt(w) -> str:
    """The world's connector named by its project's number, read off the service's run.app URL (GetService)."""
    number = w.adapters.run.get_service(WORLD_SERVICE).project_number()
    assert number, "the Run stand-in gave no deterministic URL"
    return WORLD_CONNECTOR.replace(f"projects/{WORLD_CONNECTOR.split('/')[1]}/", f"projects/{number}/")


# (the world's config, the pauses sent first (None: the kill switch; BY_NUMBER: the connector by its project's
# number; DELETED: the service deleted then), the target resumed, engaged-pause reads failing after the pauses, words said, words never said)
BRAKED_RESUMES = {
    "the config's kill switch, the connector the service uses paused": (
        {"guardrails": {"kill_switch": True}}, [WORLD_CONNECTOR, WORLD_SERVICE], WORLD_SERVICE, 0,
        ["guardrails.kill_switch: true", "and once it is changed, writes for it are still held by another pause",
         f"runwarden resume --target {WORLD_CONNECTOR}"], []),
    "the config's kill switch, nothing else paused": (
        {"guardrails": {"kill_switch": True}}, [WORLD_SERVICE], WORLD_SERVICE, 0, ["guardrails.kill_switch: true"],
        ["held by another pause"]),
    "the config's dry_run mode, the connector the service uses paused": (
        {"mode": "dry_run"}, [WORLD_CONNECTOR, WORLD_SERVICE], WORLD_SERVICE, 0,
        ["the config's mode is dry_run", f"runwarden resume --target {WORLD_CONNECTOR}"], []),
    "the service's connector paused by its project's number, the service resumed": (
        {}, ["BY_NUMBER", WORLD_SERVICE], WORLD_SERVICE, 0, ["are still held by another pause", "BY_NUMBER"],
        ["writes allowed again" + "$"]),
    "the connector by number resumed, the service behind it paused": (
        {}, [WORLD_SERVICE, "BY_NUMBER"], "BY_NUMBER", 0, ["are still held by another pause", WORLD_SERVICE], []),
    "the connector resumed, the service behind it paused and deleted since (GetService NOT_FOUND)": (
        {}, [WORLD_SERVICE, WORLD_CONNECTOR, "DELETED"], WORLD_CONNECTOR, 0, ["resumed: writes allowed again (by alice@example.com: INC-7)$"],
        [WORLD_SERVICE, "may still be held"]),
    "the kill switch by command, the pauses' read failing": (
        {}, [None, WORLD_CONNECTOR, WORLD_SERVICE], WORLD_SERVICE, 1,
        ["the kill switch is engaged", "whether another pause still holds writes for it was not read"], []),
    "no kill switch, the pauses' read failing": (
        {}, [WORLD_CONNECTOR, WORLD_SERVICE], WORLD_SERVICE, 1,
        ["resumed: writes allowed again", "whether another pause still holds writes for it was not read"], []),
    "the config's kill switch, the pauses' read failing": (
        {"guardrails": {"kill_switch": True}}, [WORLD_CONNECTOR, WORLD_SERVICE], WORLD_SERVICE, 1,
        ["guardrails.kill_switch: true", "whether another pause still holds writes for it was not read"], []),
}


@pytest.mark.parametrize("settings, paused, resumed, faults, said, unsaid", BRAKED_RESUMES.values(),
                         ids=BRAKED_RESUMES.keys())
def test_a_resume_names_every_brake_still_holding_its_writes(settings, paused, resumed, faults, said, unsaid):
    """Beside the config's kill switch or mode, or the kill switch by command, the pauses that still hold the
    target's writes are named (changed alone, the config left the operator held by one no answer had named); a
    read of them that fails after the resume's flag landed is said as not read, never a `failed` resume."""
    w = world("bad_revision", **settings)
    spelt = {"BY_NUMBER": _number_spelt(w)}
    for n, name in enumerate(paused):
        if name == "DELETED":   # the service deleted, its pause left engaged
            w.standins.run.delete_service(WORLD_SERVICE)
            continue
        target = {"target": spelt.get(name, name)} if name else {}
        assert send(w, "pause", f"p-{n}", **target).status is OutcomeStatus.APPLIED
    w.adapters.state.fail_next("read", faults, method="find_records")
    resumed_as = spelt.get(resumed, resumed)
    answer = send(w, "resume", "r-1", target=resumed_as)
    assert answer.status is OutcomeStatus.APPLIED, answer.reason
    text = answer.reason + "$"
    assert [words for words in said if spelt.get(words, words) not in text] == [], answer.reason
    assert [words for words in unsaid if spelt.get(words, words) in text] == [], answer.reason


# (the config's kill switch, engaged (KILL: the kill switch by command), the write's target, made for, the one
# instruction said: every brake to lift before the write is sent again)
INSTRUCTIONS = {
    "the config's kill switch alone": (True, [], SERVICE, [SERVICE],
                                       "once guardrails.kill_switch is false in the config again, send it again"),
    "the config's kill switch and the service's pause": (
        True, [SERVICE], SERVICE, [SERVICE], "once guardrails.kill_switch is false in the config again and the pause "
        f"named is resumed (runwarden resume --target {SERVICE}), send it again"),
    "the config's kill switch, the kill switch by command and a pause": (
        True, [KILL, CONNECTOR], CONNECTOR, [], "once guardrails.kill_switch is false in the config again and the kill "
        "switch engaged by command is released (runwarden resume) and the pause named is resumed (runwarden resume "
        f"--target {CONNECTOR}), send it again"),
    "the kill switch by command and two pauses": (
        False, [KILL, CONNECTOR, SERVICE], CONNECTOR, [SERVICE], "once the kill switch engaged by command is released "
        f"(runwarden resume) and each pause named is resumed (runwarden resume --target {CONNECTOR}, runwarden resume "
        f"--target {SERVICE}), send it again"),
    "the kill switch by command alone": (False, [KILL], SERVICE, [SERVICE], "once resumed, send it again"),
    "one pause": (False, [SERVICE], SERVICE, [SERVICE], "once resumed, send it again"),
}


@pytest.mark.parametrize("in_config, engaged, target, made_for, once", INSTRUCTIONS.values(), ids=INSTRUCTIONS.keys())
def test_a_held_write_is_told_once_to_lift_every_brake_that_holds_it(in_config, engaged, target, made_for, once):
    """Named beside the config's kill switch, a pause was followed by "once guardrails.kill_switch is false in the
    config again, send it again": changed alone, the config left the write held by the pause."""
    from shared.commands.held import kill_switch_said
    from shared.remediation.undo_by_hand import _when
    state = MemoryStateStore()
    for name in engaged:
        engage(state, name)
    hold = Held.KILL_SWITCH if in_config else Held.PAUSED
    gate = Gate(config(guardrails__kill_switch=in_config), state, FixedClock(T0), owner="a")
    refusal = braked(gate.kill_switch(target, on_behalf=made_for), hold)
    said = kill_switch_said(refusal, hold, "rollback_traffic", "rb-1")
    assert said.count("send it again") == 1 and f"wrote nothing: {once} with a new command_id" in said, said
    undo = _when(refusal, hold, None)
    assert undo == once.removesuffix(", send it again").replace("once resumed", "once a resume allows writes again")
