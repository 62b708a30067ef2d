"""The verification sweep of a rollback whose service logs its ordinary work to stderr (Python's logging
writes there by default, plain text; a structured logger's INFO lines), on real parts: the Logging stand-in
honours the filter, the newest-first order and the page as Logging does.

The service read takes all of stderr, newest first, max_log_entries (300) of it: 120 INFO lines a minute
fill that page within three minutes, so the page ended after the minutes the sweep judges began, and a
recovered service's rollback waited `unclear` until the deadline and was escalated. Now a second read asks
for the application's failure lines alone (ERROR or worse, or a failure text; a line marked INFO holding a
needle of the rules' lines, such as a `.run.app` URL, is not taken), which INFO lines do not crowd out: a
clean recovery is `verified`, a service still failing behind its INFO noise never is."""
from __future__ import annotations

import pytest

from sandbox.scenario_logs import LogSpec, seed_logs
from tests.integration.test_remediation import (OLD, _logged_failures, action_state, recovery,  # noqa: F401
                                                rolled_back, world)
from tests.integration.world import World

REFUSED = 'psycopg2.OperationalError: connection to server at "10.8.0.3", port 5432 failed: Connection refused'


def _chatty(world: World, per_minute: int = 60, urls: int = 0) -> None:
    """The known-good revision's ordinary work on stderr from +2m to +18m: `per_minute` plain lines a minute
    (Python's default handler: no severity, DEFAULT) and as many JSON lines its structured logger marked INFO;
    `urls` INFO lines a minute naming the `.run.app` URL it called."""
    lines = [{"at": {"from": "+2m", "to": "+18m", "every": "1m"}, "log": "stderr", "service": "backend",
              "revision": OLD, "count": urls, "severity": "INFO",
              "text": "INFO:orders:POST https://inventory-7f3kq2-uc.a.run.app/reserve 200 in 31 ms"}] * bool(urls) + [{"at": {"from": "+2m", "to": "+18m", "every": "1m"}, "log": "stderr", "service": "backend",
              "revision": OLD, "count": per_minute, "text": "INFO:orders:GET /api/orders 200 in 12 ms"},
             {"at": {"from": "+2m", "to": "+18m", "every": "1m"}, "log": "stderr", "service": "backend",
              "revision": OLD, "count": per_minute, "severity": "INFO", "text": "",
              "json": {"message": "cache refreshed for tenant 42", "logger": "orders.cache"}}]
    seed_logs(world.standins.logging, "demo-project", "us-central1", [LogSpec.model_validate(x) for x in lines], [],
              world.anchor)


def _plain_refusals(world: World, per_minute: int) -> None:
    """The known-good revision's database refusals on stderr, printed plain (no severity: DEFAULT), each
    answered as a 200 (a fallback), from +2m to +18m."""
    line = {"at": {"from": "+2m", "to": "+18m", "every": "1m"}, "log": "stderr", "service": "backend",
            "revision": OLD, "count": per_minute, "text": REFUSED}
    seed_logs(world.standins.logging, "demo-project", "us-central1", [LogSpec.model_validate(line)], [], world.anchor)


@pytest.mark.parametrize("urls", [0, 100], ids=["INFO lines", "and INFO lines naming a .run.app URL"])
def test_a_chatty_service_that_recovered_cleanly_is_verified(rolled_back, urls):
    """Every request a 200 at 120 ms since the rollback, no failure line: the INFO lines alone fill the
    service read's page. Before, `unclear` ("the log read's newest-first page ended at ...") until the
    deadline, then escalated. Now verified at the first sweep after the settle time. With 100 INFO lines a
    minute naming the URL the service called (a needle of the failure read's), before, they filled the
    failure read's page too: `unclear`."""
    recovery(rolled_back, until="+18m")
    _chatty(rolled_back, urls=urls)
    rolled_back.at(12)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert action_state(rolled_back) == "verified"


@pytest.mark.parametrize("failing,words", [
    (lambda world: _logged_failures(world, "+2m", "+18m", 10), "served cached fallback"),
    (lambda world: _plain_refusals(world, 10), "Connection refused"),
], ids=["fallback logged at ERROR", "database refusals printed plain"])
def test_a_chatty_service_failing_behind_its_info_lines_is_never_verified(rolled_back, failing, words):
    """The same INFO noise, and the application answers a quarter of its requests (10 a minute) with a
    fallback as a 200 while it logs each failure: at ERROR, or printed plain on stderr (a traceback's last
    line: no level). Whether Cloud Run grades a plain stderr line ERROR or leaves it DEFAULT its documentation
    does not settle: read either way, it is a failure line. Escalated at the deadline naming the lines, kept in
    place, not undone."""
    recovery(rolled_back, until="+18m")
    _chatty(rolled_back)
    failing(rolled_back)
    rolled_back.at(12)
    assert rolled_back.command({"command": "sweep"}) == []          # not verified: waits
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "failure line(s)" in outcome.reason and words in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
