"""How much of its input an answer repeats (shared/echo.py): whole when short, its start and its length when long.

A 5,000-character target came back whole in the rejection outcome, its log line and the published answer; each
place that names what it was sent now names it by its start and its length. A table over every parse-time echo."""
from __future__ import annotations

import json

import pytest

from shared.alerts.commands import CommandError, param_from_text, parse_command
from shared.echo import ECHOED, echoed, quoted
from shared.gcp.identifiers import written_name_problem
from shared.timeline.queries import BadInput, check_incident_id, check_project

LONG = 5000
SERVICE_PREFIX = "projects/p/locations/us-central1/services/"


@pytest.mark.parametrize("value, shown", [
    ("backend", "backend"),
    ("x" * ECHOED, "x" * ECHOED),
    ("x" * (ECHOED + 1), "x" * ECHOED + f"… ({ECHOED + 1} characters)"),
    (42, "42"),
])
def test_echoed_is_whole_when_short_and_its_start_and_length_when_long(value, shown):
    assert echoed(value) == shown


@pytest.mark.parametrize("value, shown", [
    ("a b", "'a b'"),
    ("y" * 61, repr("y" * 60) + "… (61 characters)"),
])
def test_quoted_shows_escapes_and_bounds_the_length(value, shown):
    assert quoted(value, 60) == shown


def _said(fields: dict) -> str:
    body = {"command_id": "c-1", "requested_by": "alice@example.com", "reason": "r", **fields}
    with pytest.raises(CommandError) as caught:
        parse_command(json.dumps(body))
    return caught.value.reason


# Each input a command's parse names back, sent 5,000 characters long: the answer holds its start and its
# length, never the whole of it.
@pytest.mark.parametrize("fields, given", [
    ({"command": "pause", "target": SERVICE_PREFIX + "b" * LONG}, SERVICE_PREFIX + "b" * LONG),
    ({"command": "rollback_traffic", "target": SERVICE_PREFIX + "b" * LONG}, SERVICE_PREFIX + "b" * LONG),
    ({"command": "scale_connector", "target": "projects/p/locations/r/connectors/" + "c" * LONG,
      "params": {"max_instances": 4}}, "projects/p/locations/r/connectors/" + "c" * LONG),
    ({"command": "pause", "target": "x" * LONG}, "x" * LONG),
    ({"command": "approve", "params": {"proposal_id": "p-" + "a" * LONG}}, "p-" + "a" * LONG),
    ({"command": "rollback_traffic", "target": SERVICE_PREFIX + "b",
      "params": {"revision": "b-" + "1" * LONG}}, "b-" + "1" * LONG),
    ({"command": "pause", "target": " " + SERVICE_PREFIX + "b" * 400}, SERVICE_PREFIX + "b" * 400),
    ({"command": "p" * LONG}, "p" * LONG),
    ({"command": "pause", "reason": "r" * LONG}, "r" * LONG),
])
def test_a_rejected_commands_answer_names_a_long_input_by_its_start_and_its_length(fields, given):
    said = _said(fields)
    assert given not in said, said[:300]
    assert given[:40] in said and "characters" in said, said[:300]
    assert len(said) < 1000, len(said)


def test_a_param_from_text_names_a_long_value_by_its_start_and_its_length():
    with pytest.raises(CommandError) as caught:
        param_from_text("scale_connector", "max_instances", "9x" * LONG)
    assert "9x" * LONG not in caught.value.reason and f"({2 * LONG} characters)" in caught.value.reason


@pytest.mark.parametrize("check, value", [
    (check_incident_id, "0." + "a b" * LONG),
    (check_incident_id, "0." + "%" * LONG),
    (check_project, "P" * LONG),
])
def test_the_timelines_bad_input_names_a_long_value_by_its_start_and_its_length(check, value):
    with pytest.raises(BadInput) as caught:
        check(value)
    said = str(caught.value)
    assert value not in said and "characters)" in said and len(said) < 1000, said[:300]


@pytest.mark.parametrize("name", [
    SERVICE_PREFIX + "B" * LONG,
    "projects/" + "P" * LONG + "/locations/us-central1/services/b",
    "projects/p/locations/9" + "l" * LONG + "/services/b",
])
def test_a_written_name_problem_names_a_long_name_by_its_start_and_its_length(name):
    said = written_name_problem(name) or ""
    assert said and "characters)" in said and len(said) < 1000, said[:300]
