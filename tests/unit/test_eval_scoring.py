"""`runwarden eval`'s scoring of the planned action against a scenario's expectation, with no I/O:
a wrong action (a write not expected) and a missed one (the expected fix not made) kept apart."""
from __future__ import annotations

from dataclasses import replace

import pytest

from cli.eval import Row, is_missed_action, is_wrong_action, problems, totals
from sandbox.scenarios import ExpectSpec

CONN = "projects/p/locations/us-central1/connectors/conn"
OTHER_CONN = "projects/p/locations/us-central1/connectors/other"
SERVICE = "projects/p/locations/us-central1/services/backend"

ROLLBACK = ExpectSpec(signature="bad_revision", status="applied", action="rollback_traffic",
                      to_revision="backend-00001-abc")
SCALE = ExpectSpec(signature="connector_saturation", status="proposed", action="scale_connector", target=CONN)
NOTHING = ExpectSpec(signature="inconclusive", status="escalated")
HEALTHY = ExpectSpec(signature="healthy", status="skipped")


# expect, planned (action, target, to_revision, status), wrong, missed
CASES = [
    ("rollback as expected", ROLLBACK, ("rollback_traffic", SERVICE, "backend-00001-abc", "applied"), False, False),
    ("scale-up proposed as expected", SCALE, ("scale_connector", CONN, None, "proposed"), False, False),
    ("no action, none expected", NOTHING, (None, None, None, None), False, False),
    ("healthy, nothing planned", HEALTHY, (None, None, None, None), False, False),
    # missed: the expected fix not made
    ("expected rollback, none planned", ROLLBACK, (None, None, None, None), False, True),
    ("expected scale-up, none planned", SCALE, (None, None, None, None), False, True),
    ("expected applied, only proposed", ROLLBACK, ("rollback_traffic", SERVICE, "backend-00001-abc", "proposed"),
     False, True),
    ("expected applied, escalated by a bound", ROLLBACK,
     ("rollback_traffic", SERVICE, "backend-00001-abc", "escalated"), False, True),
    ("expected proposed, escalated by a bound", SCALE, ("scale_connector", CONN, None, "escalated"), False, True),
    # wrong: a write the scenario does not expect (never also counted as missed)
    ("an action where none is expected", NOTHING, ("scale_connector", CONN, None, "proposed"), True, False),
    ("an action where healthy is expected", HEALTHY, ("rollback_traffic", SERVICE, "b-1", "applied"), True, False),
    ("another action than expected", ROLLBACK, ("scale_connector", CONN, None, "proposed"), True, False),
    ("another target than expected", SCALE, ("scale_connector", OTHER_CONN, None, "proposed"), True, False),
    ("another revision than expected", ROLLBACK, ("rollback_traffic", SERVICE, "backend-00000-old", "applied"),
     True, False),
    ("applied where only a proposal is expected", SCALE, ("scale_connector", CONN, None, "applied"), True, False),
]


@pytest.mark.parametrize("expect,planned,wrong,missed", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wrong_and_missed_actions_are_told_apart(expect, planned, wrong, missed):
    assert is_wrong_action(expect, *planned) is wrong
    assert is_missed_action(expect, *planned) is missed


def _row(name: str, expect: ExpectSpec, planned: tuple, diagnosed: str | None = None) -> Row:
    return Row(scenario=name, expected=expect.signature, diagnosed=diagnosed or expect.signature,
               expected_action=expect.action, expected_status=expect.status, planned_action=planned[0],
               planned_target=planned[1], planned_revision=planned[2], planned_status=planned[3],
               wrong_action=is_wrong_action(expect, *planned), missed_action=is_missed_action(expect, *planned),
               reason="why")


def test_the_totals_count_missed_actions_apart_from_wrong_ones():
    rows = [_row("ok", ROLLBACK, ("rollback_traffic", SERVICE, "backend-00001-abc", "applied")),
            _row("missed", SCALE, (None, None, None, None)),
            _row("short", ROLLBACK, ("rollback_traffic", SERVICE, "backend-00001-abc", "proposed")),
            _row("wrong", NOTHING, ("scale_connector", CONN, None, "proposed"))]

    summary = totals(rows)

    assert summary["missed_actions"] == 2 and summary["wrong_actions"] == 1
    assert summary["accuracy"] == 1.0


def test_each_miss_gets_a_line_saying_expected_against_got():
    assert problems(_row("s", SCALE, (None, None, None, None))) == \
        ["s: missed action: expected scale_connector proposed, got no action: why"]
    assert problems(_row("s", ROLLBACK, ("rollback_traffic", SERVICE, "backend-00001-abc", "escalated"))) == \
        ["s: missed action: expected rollback_traffic applied, got rollback_traffic escalated: why"]
    assert problems(_row("s", NOTHING, ("scale_connector", CONN, None, "proposed"))) == \
        ["s: wrong action: expected no action, escalated, got scale_connector proposed: why"]
    assert problems(_row("s", SCALE, (None, None, None, None), diagnosed="inconclusive")) == \
        ["s: signature: expected connector_saturation, got inconclusive: why",
         "s: missed action: expected scale_connector proposed, got no action: why"]
    assert problems(_row("s", ROLLBACK, ("rollback_traffic", SERVICE, "backend-00001-abc", "applied"))) == []


STOOD = ExpectSpec(signature="inconclusive", status="escalated", stand_down=True)
WORDS = "recent human change: deploy of backend-00003-rev by deployer@p.iam.gserviceaccount.com at 12:01:00"


@pytest.mark.parametrize("expect,stood,unlike", [
    (NOTHING, "", False),
    (STOOD, WORDS, False),
    (NOTHING, WORDS, True),     # stood down where none is expected: a person told someone is at work
    (STOOD, "", True),          # none where one is expected: automation would act over a person
])
def test_a_stand_down_unlike_its_expectation_misses_the_bar(expect, stood, unlike):
    row = replace(_row("s", expect, (None, None, None, None)), expected_stand_down=expect.stand_down,
                  stood_down=stood)

    assert row.stand_down_unlike is unlike
    assert totals([row])["stand_downs_unlike"] == int(unlike)
    assert problems(row) == ([f"s: stand-down: expected {'one' if expect.stand_down else 'none'}, "
                              f"got {stood or 'none'}"] if unlike else [])
