"""docs/scenarios.md's table has one row per bundled scenario, and no row's expect column contradicts the YAML.

The table is how a reader finds the incident a scenario tells and what Runwarden should conclude from it; a
scenario left out of it, a row for a file that is gone, or a row stating another signature or outcome than the
file's `expect` misleads whoever reads it. The YAML is the truth: the row follows it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest

from sandbox.scenarios import ExpectSpec, bundled_scenario_path, list_bundled_scenarios, load_scenario
from shared.config import ACTION_NAMES
from shared.outcomes import OutcomeStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
HEADER = "| scenario | story | expect (signature → outcome) |"
ROW = re.compile(r"^\| `(?P<name>[a-z0-9_]+)` \| (?P<story>.+) \| (?P<expect>.+) \|$")
# The outcomes a scenario's `expect.status` names (what the incident's first handling publishes in enforce mode);
# a row may go on to what follows it (an undo's `undone`, a sweep's `verified`).
STATUSES = frozenset(status.value for status in (OutcomeStatus.APPLIED, OutcomeStatus.PROPOSED,
                                                  OutcomeStatus.ESCALATED, OutcomeStatus.SKIPPED,
                                                  OutcomeStatus.REJECTED))
# What a row says things were before a fix ("(before: `healthy`, skipped)", "; before: ...") is history, not
# the expectation: it is left out of what the row is checked for.
BEFORE = re.compile(r"\((?:[^()]|\([^()]*\))*?\bbefore\b(?:[^()]|\([^()]*\))*\)|[;,] before[,:][^;()]*", re.IGNORECASE)
TICKED = re.compile(r"`([^`]+)`")


class Row(NamedTuple):
    line: int       # in docs/scenarios.md
    name: str       # the scenario the row names
    expect: str     # its expect column


def table_rows(text: str) -> tuple[list[Row], list[str]]:
    """The table's rows, and every line of the table that is not one row naming one scenario."""
    lines = text.splitlines()
    start = lines.index(HEADER)
    rows: list[Row] = []
    malformed: list[str] = []
    for number, line in enumerate(lines[start + 2:], start=start + 3):
        if not line.startswith("|"):
            break
        match = ROW.match(line)
        if match is None:
            malformed.append(f"line {number}: {line[:100]}")
        else:
            rows.append(Row(number, match["name"], match["expect"]))
    return rows, malformed


def stated(expect_column: str) -> list[str]:
    """The backticked words of an expect column, leaving out what it says things were before."""
    return TICKED.findall(BEFORE.sub("", expect_column))


def contradictions(expect_column: str, expect: ExpectSpec) -> list[str]:
    """Where a row's expect column disagrees with the scenario's `expect` (empty when it agrees)."""
    words = stated(expect_column)
    found: list[str] = []
    said = BEFORE.sub("", expect_column)
    if expect.signature == "none":
        # No diagnosis is made (an aggregated policy, an unknown host): the row opens with "none".
        if not said.startswith(("none", "`none`")):
            found.append(f"signature: the row opens with {said.split()[:1]}, the YAML expects no diagnosis")
    elif not words or words[0] != expect.signature:
        found.append(f"signature: the row opens with {words[:1]}, the YAML expects {expect.signature!r}")
    if not re.search(rf"\b{expect.status}\b", said):
        found.append(f"status: the row never states {expect.status!r}")
    if others := sorted(set(words) & STATUSES - {expect.status}):
        found.append(f"status: the row states {others}, the YAML expects {expect.status!r}")
    if named := sorted(set(words) & ACTION_NAMES - {expect.action}):
        found.append(f"action: the row names {named}, the YAML expects {expect.action!r}")
    if expect.status == "applied" and expect.to_revision and expect.to_revision not in expect_column:
        found.append(f"to_revision: the row never names {expect.to_revision!r}")
    if missing := [signature for signature in expect.competing if signature not in expect_column]:
        found.append(f"competing: the row never names {missing}")
    stands_down = re.search(r"stand_down|stand-down|stands down|stood down", said)
    if expect.stand_down and not stands_down:
        found.append("stand_down: the YAML expects a stand-down, the row states none")
    if not expect.stand_down and re.search(r"with `stand_down`", expect_column):
        found.append("stand_down: the row states a stand-down, the YAML expects none")
    return found


ROWS, MALFORMED = table_rows(DOC.read_text())
BUNDLED = list_bundled_scenarios()


def test_every_table_line_is_one_row_naming_one_scenario():
    assert MALFORMED == []


def test_no_scenario_has_two_rows():
    names = [row.name for row in ROWS]
    assert sorted({name for name in names if names.count(name) > 1}) == []


def test_every_bundled_scenario_has_a_row():
    assert sorted(set(BUNDLED) - {row.name for row in ROWS}) == []


def test_every_row_names_a_bundled_scenario():
    assert sorted({row.name for row in ROWS} - set(BUNDLED)) == []


@pytest.mark.parametrize("row", [row for row in ROWS if row.name in BUNDLED], ids=lambda row: row.name)
def test_a_row_states_the_scenarios_expectation(row):
    expect = load_scenario(bundled_scenario_path(row.name)).expect
    assert expect is not None
    assert contradictions(row.expect, expect) == [], f"docs/scenarios.md line {row.line}"


# The checker itself, from a table of rows and expectations (pure: no files).
ROLLBACK = ExpectSpec(signature="bad_revision", status="applied", action="rollback_traffic",
                      to_revision="backend-00001-abc")
HELD = ExpectSpec(signature="inconclusive", status="escalated", competing=("bad_revision", "connector_saturation"))
STOOD = ExpectSpec(signature="bad_revision", status="escalated", stand_down=True)


@pytest.mark.parametrize(("column", "expect", "faults"), [
    ("`bad_revision` → `rollback_traffic` to `backend-00001-abc`, `applied`", ROLLBACK, []),
    ("`bad_revision` → `rollback_traffic` to `backend-00001-abc`, `applied` (before: `escalated`)", ROLLBACK, []),
    ("`inconclusive` → `escalated`", ROLLBACK, ["signature", "status", "status", "to_revision"]),
    ("`bad_revision` → rollback to backend-00001-abc", ROLLBACK, ["status"]),
    ("`bad_revision` → `rollback_traffic` to `backend-00002-xyz`, `applied`", ROLLBACK, ["to_revision"]),
    ("`bad_revision` → `scale_connector`, `applied`", ROLLBACK, ["action", "to_revision"]),
    ("`inconclusive`, competing `bad_revision` and `connector_saturation` → `escalated`", HELD, []),
    ("`inconclusive`, competing `bad_revision` → `escalated`", HELD, ["competing"]),
    ("`inconclusive` → `escalated`, no scale-up (before: `scale_connector` proposed, a wrong action)", HELD,
     ["competing"]),
    ("`inconclusive` → `escalated` (before: `healthy`, skipped)", HELD, ["competing"]),
    ("`bad_revision` with `stand_down` → `escalated`", STOOD, []),
    ("`bad_revision` → `escalated`", STOOD, ["stand_down"]),
    ("`bad_revision` with `stand_down` → `applied`", ROLLBACK, ["to_revision", "stand_down"]),
    ("none → `skipped`", ExpectSpec(signature="none", status="skipped"), []),
    ("`healthy` → `skipped`", ExpectSpec(signature="none", status="skipped"), ["signature"]),
])
def test_the_checker_finds_each_contradiction(column, expect, faults):
    assert [fault.split(":")[0] for fault in contradictions(column, expect)] == faults
