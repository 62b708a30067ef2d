"""A whole number sent as another type (quoted, with a decimal point, in exponent form) whose number is outside
max_instances' range: the answer says the number is refused too and what the range allows, never "send N" for an N
the next attempt is refused for. In range, it still names the number to send. The message's JSON (parse_command) and
the CLI's `--param` (param_from_text) answer alike. Pure: no I/O."""
from __future__ import annotations

import json

import pytest

from shared.alerts.commands import CommandError, param_from_text, parse_command

CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
AT_MOST = "VPC Access allows at most 10 instances: send max_instances 10 at most"
FROM_3 = "VPC Access allows 3 to 10 instances"


def _refusal(value: object) -> str:
    body = {"command": "scale_connector", "command_id": "sc-1", "requested_by": "alice@example.com", "reason": "r",
            "target": CONNECTOR, "params": {"max_instances": value}}
    with pytest.raises(CommandError) as refused:
        parse_command(json.dumps(body).replace('"@@', "").replace('@@"', ""))
    assert refused.value.field == "command.params.max_instances", refused.value
    return str(refused.value)


# (the value as JSON, the number it spells, the range's words, or the number to send when in range)
JSON_ROWS = [
    ("@@1e9@@", "1000000000", AT_MOST),                # a script's float, 1e9
    ("@@1000000000.0@@", "1000000000", AT_MOST),
    ("50", "50", AT_MOST),                               # quoted by the shell: "50"
    ("@@50.0@@", "50", AT_MOST),
    ("2", "2", FROM_3),
    ("@@-1.0@@", "-1", FROM_3),
    ("@@2.0@@", "2", FROM_3),
]


@pytest.mark.parametrize("value, number, said", JSON_ROWS)
def test_a_whole_number_out_of_range_is_never_named_as_the_one_to_send(value, number, said):
    reason = _refusal(value)
    assert f"send {number}" not in reason and f"send a whole number, {number}" not in reason, reason
    assert f"{number} is refused too" in reason or f"{number} without quotes is refused too" in reason, reason
    assert said in reason, reason


@pytest.mark.parametrize("value, said", [("10", "got the string '10': send 10, without quotes"),
                                         ("@@6.0@@", "got 6.0: send a whole number, 6"),
                                         ("@@3e0@@", "got 3.0: send a whole number, 3")])
def test_a_whole_number_in_range_is_named_as_the_one_to_send(value, said):
    reason = _refusal(value)
    assert said in reason and "refused too" not in reason, reason


@pytest.mark.parametrize("text, number, said", [("50.0", "50", AT_MOST), ("011", "11", AT_MOST),
                                                ("2.0", "2", FROM_3)])
def test_the_cli_never_names_a_whole_number_out_of_range_to_write(text, number, said):
    with pytest.raises(CommandError) as refused:
        param_from_text("scale_connector", "max_instances", text)
    reason = str(refused.value)
    assert f"write max_instances={number}" not in reason and f"{number} is refused too" in reason, reason
    assert said in reason, reason


def test_the_cli_names_a_whole_number_in_range_to_write():
    with pytest.raises(CommandError) as refused:
        param_from_text("scale_connector", "max_instances", "06")
    assert "write max_instances=6; nothing was sent" in str(refused.value)
