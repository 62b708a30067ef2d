"""An incident id is read one way wherever it comes in: a notification (the alerts path) and
`runwarden timeline` / the timeline function (check_incident_id). Whitespace around it is dropped;
whitespace or an invisible character inside it is refused by name, the same words both ways."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shared.alerts.incidents import IncidentParseError, parse_notification
from shared.timeline.queries import BadInput, check_incident_id

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
DOCUMENTED = json.loads((SAMPLES / "monitoring_docs_example_closed_gce__via_goalert.json").read_text())


def notified(incident_id: str) -> dict:
    doc = copy.deepcopy(DOCUMENTED)
    doc["incident"]["incident_id"] = incident_id
    return doc


AROUND = [
    (" 0.abc", "0.abc"), ("0.opqiw61fsv7p ", "0.opqiw61fsv7p"), ("\t0.abc\n", "0.abc"),
    ("\u00a00.abc\u00a0", "0.abc"), ("\u2003 12345", "12345"), ("\r\n0.a-b_c\r\n", "0.a-b_c"),
]


@pytest.mark.parametrize("raw, meant", AROUND)
def test_whitespace_around_an_incident_id_is_dropped_as_the_alerts_path_drops_it(raw, meant):
    assert check_incident_id(raw) == meant
    assert parse_notification(notified(raw)).incident_id == meant


def test_an_operator_s_manual_action_id_is_read_the_same_way():
    assert check_incident_id("  command:rb-inc42\n") == "command:rb-inc42"


@pytest.mark.parametrize("raw, meant", [("0.NRWOTMYOKD9N", "0.nrwotmyokd9n"), (" 0.OpQiw61 ", "0.opqiw61"),
                                        ("command:RB-Inc42", "command:RB-Inc42")])
def test_an_incident_id_in_capitals_is_read_lower_cased_both_ways_a_command_s_as_it_is(raw, meant):
    """An alert's id is keyed lower-cased (shared/gcp/identifiers.folded_incident_id), so its timeline is
    asked for by that; a manual action's command id is the operator's own, kept."""
    assert check_incident_id(raw) == meant
    if not raw.startswith("command:"):
        assert parse_notification(notified(raw)).incident_id == meant


INSIDE = [
    ("0.opq iw61", "a space at character 5"),
    (" 0.opq\tiw61 ", "a tab at character 5"),       # counted in the id without what is around it
    ("0.opq\u200biw61", "U+200B at character 5"),
    ("\ufeff0.opqiw61", "U+FEFF at character 0"),
    ("0.ab\u00a0c", "U+00A0 at character 4"),
]


@pytest.mark.parametrize("raw, said", INSIDE)
def test_whitespace_or_an_invisible_character_inside_is_refused_by_name_both_ways(raw, said):
    with pytest.raises(BadInput) as caught:
        check_incident_id(raw)
    assert caught.value.field == "incident_id"
    assert said in str(caught.value) and "0.nrwotmyokd9n" in str(caught.value), str(caught.value)
    with pytest.raises(IncidentParseError) as error:
        parse_notification(notified(raw))
    assert said in error.value.reason, error.value.reason
