"""The verification sweep on real parts (stand-ins and emulators, no mocks) after a rollback whose minutes since
must neither undo it nor verify it: the database both revisions use going down after the rollback (an undo
would send the traffic back to the deploy that failed on its own), and a rollback whose revision answers every
request clean but in 22 s where it answered in 120 ms before the deploy (half a fix). The first was `undone`,
the second `verified`, before."""
from __future__ import annotations

import yaml

from sandbox.scenario_logs import seed_logs
from sandbox.scenarios import LogSpec, Scenario, seed
from tests.integration.test_remediation import (NEW, OLD, action_state, counted, more_series,  # noqa: F401
                                                request_lines, rolled_back, timed, world)

DB = "demo-project:us-central1:main-db"
REFUSED = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: Connection refused. '
           "Is the server running on that host and accepting TCP/IP connections?")


def database_down(world, since: str, until: str) -> None:
    """main-db's database/up at 0 from `since`, and the revision rolled back to logging its refused dials."""
    down = yaml.safe_load(f"name: later\nproject: demo-project\nregion: us-central1\nsql_instances:\n"
                          f"  - {{name: '{DB}', up: [{{from: '{since}', to: '{until}', every: 60s, value: 0}}]}}\n")
    seed(world.standins, Scenario.model_validate(down), world.anchor)
    line = {"at": {"from": since, "to": until, "every": "1m"}, "log": "stderr", "service": "backend",
            "revision": OLD, "severity": "ERROR", "count": 6, "text": REFUSED}
    seed_logs(world.standins.logging, "demo-project", "us-central1", [LogSpec.model_validate(line)], [], world.anchor)


def test_a_rollback_failing_while_the_shared_database_is_down_is_kept_not_undone(rolled_back):
    """The rollback at +2m serves; main-db fails over from +5m and stays down: the revision rolled back to
    answers half its requests 500 from +3m, Connection refused. Before, the sweep undid the rollback at the
    deadline (the deploy's KeyErrors back in service once the database returns): now escalated, kept, one write."""
    more_series(rolled_back, counted(OLD, 200, "+2m", "+18m", 20) + counted(OLD, 500, "+3m", "+18m", 20)
                             + timed(OLD, "2xx", "+2m", "+18m", [[120, 20]]))
    request_lines(rolled_back, OLD, "+2m", "+18m", 20)
    request_lines(rolled_back, OLD, "+3m", "+18m", 20, status=500)
    database_down(rolled_back, "+5m", "+18m")
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "a cause both revisions share" in outcome.reason and NEW in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"


def test_a_rollback_whose_revision_answers_in_seconds_where_it_answered_in_milliseconds_is_not_verified(rolled_back):
    """The deploy's 500s hung at 30 s; since the rollback every request is clean, at 22 s (under the 25 s hang
    bar, under 3 times the 30 s before the action): `verified` before. backend-00001-abc answered in 120 ms for
    hours before the deploy: escalated at the deadline, kept in place, nothing written."""
    more_series(rolled_back, timed(NEW, "5xx", "-10m", "+2m", [[30000, 27]])
                             + counted(OLD, 200, "+2m", "+18m", 40) + timed(OLD, "2xx", "+2m", "+18m", [[22000, 40]]))
    request_lines(rolled_back, OLD, "+2m", "+18m", 40)
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "answers much slower than it served before the action" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"
