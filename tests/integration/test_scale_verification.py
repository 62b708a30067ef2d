"""The verification sweep on real parts (stand-ins and emulators, no mocks) after a connector scale whose minutes
since must not read as its recovery: the service's 503s gone but every request answering in 20 s where it answered
in 120 ms before the incident (half a fix: `verified` before), and a person's failing deploy landing after the scale
(named as what fails since, not "the evidence does not say")."""
from __future__ import annotations

from datetime import timedelta

from sandbox.standins.run import TrafficSeed
from tests.integration.test_remediation import (CONNECTOR, OLD, action_state, counted, more_series,  # noqa: F401
                                                request_lines, scaled, timed, world)
from tests.integration.world import SERVICE


def test_a_scale_whose_service_answers_in_seconds_where_it_answered_in_milliseconds_is_not_verified(scaled):
    """The saturated connector scaled at +2m; since +6m the service answers all its 45 requests a minute clean, at
    20 s (under the 25 s hang bar, and under 3 times the 31 s hangs before the scale), and no clean minute is read
    before the scale to show what it answered before: escalated at the deadline, the scale kept (it cannot be undone), nothing written."""
    request_lines(scaled, OLD, "+6m", "+20m", 45)
    more_series(scaled, counted(OLD, 200, "+6m", "+20m", 45) + timed(OLD, "2xx", "+6m", "+20m", [[20000, 45]]))
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "escalated", outcome.reason
    # The sweep reads back to a lookback before the incident: every minute there failed (the 503s began 15
    # minutes before it), so no clean minute gives a bar, and 20 s is not verified on latency.
    assert "not verified on latency" in outcome.reason, outcome.reason
    assert scaled.standins.vpcaccess.count("PatchConnector") == 1 and action_state(scaled) == "escalated"


def test_a_scale_followed_by_a_failing_deploy_names_the_deploy(scaled):
    """After the scale, a person's deploy (+5m) takes all the traffic and fails half its requests with 500s: what
    fails since is named as that deploy's, with the diagnosis of the minutes since, never blamed on the scale and
    never scaled again."""
    bad = "backend-00003-bad"
    scaled.standins.run.add_revision(SERVICE, bad, scaled.anchor + timedelta(minutes=5), vpc_connector=CONNECTOR,
                                     cloudsql_instances=["demo-project:us-central1:main-db"])
    scaled.standins.run.set_traffic(SERVICE, [TrafficSeed(percent=100, revision=bad)])
    more_series(scaled, counted(bad, 200, "+6m", "+20m", 20) + counted(bad, 500, "+6m", "+20m", 20)
                        + timed(bad, "2xx", "+6m", "+20m", [[120, 20]]))
    request_lines(scaled, bad, "+6m", "+20m", 20)
    request_lines(scaled, bad, "+6m", "+20m", 20, status=500)
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "escalated", outcome.reason
    assert f"a revision deployed after the action serves now: {bad}" in outcome.reason, outcome.reason
    assert scaled.standins.vpcaccess.count("PatchConnector") == 1 and action_state(scaled) == "escalated"
