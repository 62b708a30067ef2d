"""What a command answers under dry-run, and how much of a long input any answer repeats, on real parts (the
stand-ins, the Firestore and Pub/Sub emulators, the real adapters).

Under dry-run nothing is written, and every command's answer says what it would have done and that it did not:
a dry-run pause answered "... paused: no writes until resumed", which read as a brake engaged."""
from __future__ import annotations

import re

import pytest

from shared.remediation.guardrails import pause_key
from shared.remediation.records import FLAGS, KILL_SWITCH
from tests.integration.test_commands import CONNECTOR, OLD, command, proposed, world, writes  # noqa: F401
from tests.integration.world import SERVICE

# A word that says the thing was done, as the answer of a real (not dry-run) command says it.
_DONE = re.compile(r"\b(paused|resumed|released|scaled|rolled back|closed|approved):")

_SERVICE_COMMANDS = [
    ("pause", {"target": SERVICE}),
    ("pause", {}),
    ("pause", {"target": CONNECTOR}),
    ("resume", {"target": SERVICE}),
    ("resume", {}),
    ("rollback_traffic", {"target": SERVICE, "params": {"revision": OLD}}),
    ("restore_traffic", {"target": SERVICE, "params": {"to_latest": True}}),
]


def _says_it_would_and_did_not(reason: str) -> None:
    assert "dry-run" in reason and "would" in reason, reason
    assert not _DONE.search(reason), reason


@pytest.mark.parametrize("name, fields", _SERVICE_COMMANDS, ids=[f"{n}-{'/'.join(f) or 'all'}" for n, f in
                                                                 _SERVICE_COMMANDS])
def test_a_dry_run_command_says_it_would_have_acted_and_writes_nothing(world, name, fields):
    outcome = command(world, name, reason="drill", dry_run=True, **fields)
    assert outcome.status.value == "dry_run", outcome.reason
    _says_it_would_and_did_not(outcome.reason)
    assert writes(world) == 0
    key = pause_key(fields["target"]) if fields.get("target") else KILL_SWITCH
    assert world.state.get_record(FLAGS, key) is None


@pytest.mark.parametrize("name, params", [
    ("scale_connector", {"max_instances": 4}),
    ("approve", None),
    ("reject", None),
])
def test_a_dry_run_decision_or_scale_says_it_would_have_acted_and_writes_nothing(proposed, name, params):
    world, proposal_id = proposed
    target = {"target": CONNECTOR} if params else {}
    outcome = command(world, name, params=params or {"proposal_id": proposal_id}, reason="drill", dry_run=True,
                      **target)
    assert outcome.status.value == "dry_run", outcome.reason
    _says_it_would_and_did_not(outcome.reason)
    assert writes(world) == 0


LONG_SERVICE = "projects/demo-project/locations/us-central1/services/" + "b" * 5000
# Within the longest a target may be, and still not in the inventory: named, not repeated whole.
LONGISH_SERVICE = "projects/demo-project/locations/us-central1/services/" + "b" * 400


@pytest.mark.parametrize("name, fields", [
    ("pause", {"target": LONG_SERVICE}),
    ("rollback_traffic", {"target": LONG_SERVICE}),
    ("diagnose", {"target": LONG_SERVICE}),
    ("status", {"target": LONG_SERVICE}),
    ("rollback_traffic", {"target": LONGISH_SERVICE}),
    ("status", {"target": LONGISH_SERVICE}),
    ("restore_traffic", {"target": SERVICE, "params": {"action_id": "a" * 1400}}),
])
def test_an_answer_repeats_a_long_input_by_its_start_and_its_length(world, name, fields):
    outcome = command(world, name, reason="drill", **fields)
    given = fields.get("target") if fields.get("target") != SERVICE else fields["params"]["action_id"]
    assert given not in outcome.reason and given[:60] in outcome.reason, outcome.reason[:400]
    assert f"{len(given)} characters" in outcome.reason, outcome.reason[:400]
    assert len(outcome.reason) < 1500, len(outcome.reason)
    assert outcome.target is None or len(outcome.target) <= 512
    assert writes(world) == 0
