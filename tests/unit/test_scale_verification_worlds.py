"""Incidents at the runbook's last step after a connector scale, watching health: the sweep's judgement of
`scale_connector` on the minutes since (shared/remediation/judging.py `judge`, `next_step`), from tables. Pure, no
I/O.

Times are minutes from the action's settle time (T0): the scale applied at -5 (e2-micro 2..3 to e2-standard-4
2..4, read back READY), settled at 0, deadline at +10. `backend-00001-abc` has served alone for hours at 150 ms;
from -15 the e2-micro connector sat at its 3 instances with CPU p99 at 95 %, and half the service's 40 requests a
minute answered 503 after hanging at the client's 31 s. A scale cannot be undone: every row that is not `verified`
is escalated at the deadline with what it saw, and none writes again."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.remediation.judging import HealthKind, StepKind, judge, next_step
from tests.unit.builders import SQL, Evidence
from tests.unit.test_verification_judging import NEW, OLD, scale_up, sweep_at, swept

SETTINGS = DiagnosisSettings()
TIMES = VerificationSettings()
H, F, U, C = HealthKind.HEALTHY, HealthKind.FAILING, HealthKind.UNCLEAR, HealthKind.CHANGED
V, W, E = StepKind.VERIFY, StepKind.WAIT, StepKind.ESCALATE

SCALE = scale_up()
DIAL = ('psycopg.OperationalError: connection to server at "10.40.0.3", port 5432 failed: timeout expired')
REFUSED = 'psycopg.OperationalError: connection to server at "10.40.0.3", port 5432 failed: Connection refused'
TOO_MANY = ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: FATAL:  sorry, too '
            'many clients already')


def saturated(now: float, *, ok: float = 40, failed: float = 0, code: str = "503", p99: float = 0.15,
              instances: float = 3, cpu: float = 0.4) -> Evidence:
    """The incident before the scale (see the module), and since -5 `ok` clean and `failed` `code` requests a
    minute at `p99`, the scaled connector (e2-standard-4, 2..4) at `instances` instances and CPU p99 `cpu`."""
    e = Evidence(now=now).revision(OLD, -180, sql=(SQL,))
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -15, 40).latency(OLD, -60, -15, 0.15)
    e.requests(OLD, -15, -5, 20).requests(OLD, -15, -5, 20, "503").latency(OLD, -15, -5, 31.0)
    for minute in range(-14, -5):
        e.log(minute, DIAL, OLD, count=3)
    e.connector("e2-standard-4", 2, 4).sql_up(-200, now, 1)
    e.connector_metric("instances", -90, -15, 2).connector_metric("instances", -15, -5, 3)
    e.connector_metric("cpu", -90, -15, 0.3).connector_metric("cpu", -15, -5, 0.95)
    e.connector_metric("bytes", -90, now, 2e6)
    e.connector_metric("instances", -5, now, instances).connector_metric("cpu", -5, now, cpu)
    if ok:
        e.requests(OLD, -5, now, ok)
    if failed:
        e.requests(OLD, -5, now, failed, code)
    if ok or failed:
        e.latency(OLD, -5, now, p99)
    return e


def database_down_since(now: float) -> Evidence:
    """The scale took, the connector idle at 2 instances and 30 % CPU since; main-db went down at -4 and the
    service's dials are refused: half its requests 500."""
    e = saturated(now, ok=20, failed=20, code="500", cpu=0.3, instances=2).sql_up(-4, now, 0)
    for minute in range(-3, int(now)):
        e.log(minute, REFUSED, OLD, count=3)
    return e


def deployed_since(now: float) -> Evidence:
    """The scale took; a person's deploy (backend-00002-xyz) landed at +2 and takes all the traffic, failing half
    its requests with a KeyError: the 5xx since are the deploy's, not the scale's."""
    e = saturated(now, ok=0).revision(NEW, 2, sql=(SQL,))
    e.traffic(**{NEW.replace("-", "_"): 100})
    e.requests(OLD, -5, 2, 40).latency(OLD, -5, 2, 0.15)
    e.requests(NEW, 2, now, 20).requests(NEW, 2, now, 20, "500").latency(NEW, 2, now, 0.12)
    for minute in range(3, int(now)):
        e.log(minute, "KeyError: 'currency'", NEW, count=3)
    return e


def still_saturated(now: float) -> Evidence:
    """The scale took, but the connector sits at its new 4 instances, CPU p99 95 %: half the requests still 503
    after hanging at 31 s. Not enough; a person must choose a larger machine type (the API only scales up)."""
    e = saturated(now, ok=20, failed=20, p99=31.0, instances=4, cpu=0.95)
    for minute in range(-4, int(now)):
        e.log(minute, DIAL, OLD, count=3)
    return e


def too_many_clients(now: float) -> Evidence:
    """The scale took and the connector has room (3 of 4, 40 % CPU); the dials now reach main-db, which refuses
    them: "too many clients" every minute, half the requests 500. Another cause, behind the connector."""
    e = saturated(now, ok=20, failed=20, code="500")
    for minute in range(-4, int(now)):
        e.log(minute, TOO_MANY, OLD, count=3)
    return e


def unread_since(now: float) -> Evidence:
    """The scale's minutes not yet ingested: Monitoring holds no point of request_count after -5 at the sweep."""
    e = saturated(now, ok=0)
    e.read_after = 0
    return e


WORLDS = [
    # name, record, evidence, health, step, words in the step's reason
    ("the control: clean at 150 ms since, 3 of 4 instances at 40 % CPU: verified", SCALE, saturated(11), H, V,
     "healthy"),
    ("read at +6, clean in each of the 5 minutes since the settle time: verified on time", SCALE, saturated(6), H,
     V, "healthy"),
    ("503s gone, but every request answers in 20 s where the service answered in 150 ms: half a fix, not verified",
     SCALE, saturated(11, p99=20.0), U, E, "much slower than it served"),
    ("the same at 12 s", SCALE, saturated(11, p99=12.0), U, E, "much slower than it served"),
    ("the same at 300 ms: verified", SCALE, saturated(11, p99=0.3), H, V, "healthy"),
    ("clean since, but the night fell: 3 requests a minute where it had 40", SCALE, saturated(11, ok=3), U, E,
     "cannot be undone"),
    ("clean since, but a neighbour refilled the connector: at its new 4 instances at 95 % CPU", SCALE,
     saturated(11, instances=4, cpu=0.95), U, E, "still at its limit"),
    ("still saturated at its new limit at the deadline: escalated, never scaled again", SCALE, still_saturated(11), F,
     E, "cannot be undone"),
    ("main-db down since -4, the connector idle: not verified, not the scale's, escalated", SCALE,
     database_down_since(11), U, E, "the minutes since (12:00:00, 12:11:00]: database_unreachable: Cloud SQL "
     "demo:main-db is down"),
    ("too many clients on main-db since the scale, the connector with room: escalated with the database", SCALE,
     too_many_clients(11), U, E, "too many clients already"),
    ("a person's failing deploy at +2 takes the traffic: not the scale's failure, escalated naming it", SCALE,
     deployed_since(11), U, E, f"a revision deployed after the action serves now: {NEW}"),
    ("the scale's minutes not ingested yet at the deadline: empty is not clean", SCALE, unread_since(11), U, E,
     "cannot be undone"),
    ("a person raised max_instances to 6 since: changed, escalated", SCALE,
     saturated(11).connector("e2-standard-4", 2, 6), C, E, "max_instances 6 (the action set 4)"),
    ("Terraform recreated the connector as e2-micro 2..3 since: changed, escalated", SCALE,
     saturated(11).connector("e2-micro", 2, 3), C, E, "machine_type e2-micro"),
    ("the connector still UPDATING at the deadline: escalated, the change not finished", SCALE,
     saturated(11).connector("e2-standard-4", 2, 4, state="UPDATING"), U, E, "still being updated"),
]


@pytest.mark.parametrize("name,record,evidence,health,step,words", WORLDS, ids=[w[0] for w in WORLDS])
def test_the_sweep_after_a_connector_scale(name, record, evidence, health, step, words):
    _swept_as(evidence, health, step, words, record)


def _swept_as(evidence: Evidence, health: HealthKind, step: StepKind, words: str, record=SCALE) -> None:
    """The sweep's judgement of `record` on `evidence` and its step, as expected, the step's reason saying `words`."""
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    judged = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    then = next_step(record, judged, sweep_at(evidence), TIMES)
    assert (judged.kind, then.kind) == (health, step), then.why
    assert words in then.why, then.why


def late_instances(now: float, until: float, *, back: float | None = None) -> Evidence:
    """The scale's update over at -5, but its new instances carry traffic only from `until`: half the requests 503
    after 31 s to then, clean since; `back`: the 503s and hangs come back from that minute on."""
    e = saturated(now).requests(OLD, -5, until, 20, "503").latency(OLD, -5, until, 31.0)
    if back is not None:
        e.requests(OLD, back, now, 20, "503").latency(OLD, back, now, 31.0)
    return e


LATE = [
    # name, evidence, the sweep's minute, health, step, words
    ("new instances carry traffic from +4; the deadline's window holds +4: waits past it, not escalated",
     late_instances(8, 4), U, W, "may have carried traffic only minutes after its update ended"),
    ("the next sweep: every minute of the window clean, verified", late_instances(14, 4), H, V, "healthy"),
    ("the 503s back at +12: escalated, never scaled again", late_instances(16, 4, back=12), U, E, "cannot be undone"),
    ("read a verification period late: escalated as before", late_instances(19, 4).requests(OLD, 15, 19, 20, "503"),
     U, E, "cannot be undone"),
    ("new instances from +3, read at +8: the callers' lines reach a failing minute, waits as at +4",
     late_instances(8, 3), U, W, "may have carried traffic only minutes after its update ended"),
    ("new instances from +6, read at +8: 20 % 5xx in the window, not 'better than before', waits",
     late_instances(8, 6), U, W, "may have carried traffic only minutes after its update ended"),
    ("failing to +18, clean +19..+21, read at +24, a period past the deadline: settling, but late, escalated",
     late_instances(21, 18), U, E, "cannot be undone"),
]


@pytest.mark.parametrize("name,evidence,health,step,words", LATE, ids=[w[0] for w in LATE])
def test_a_scale_whose_new_instances_carry_traffic_late_waits_for_its_window(name, evidence, health, step, words):
    _swept_as(evidence, health, step, words)


def long_failing(now: float, p99: float) -> Evidence:
    """As `saturated`, but the 503s and hangs began at -40, past the sweep's reach (a lookback before the incident
    at -15): no clean minute read before the scale; since it, all 80 requests a minute its callers send clean at
    `p99` (more than the saturated connector carried)."""
    e = saturated(now, ok=80, p99=p99)
    return e.requests(OLD, -60, -15, 20).requests(OLD, -60, -15, 20, "503").latency(OLD, -60, -15, 31.0)


NO_BAR = [
    ("20 s since, every minute read before the scale failing: no bar, not verified on latency", long_failing(11, 20.0),
     U, E, "not verified on latency"),
    ("300 ms since, the same: under the floor, verified", long_failing(11, 0.3), H, V, "healthy"),
    ("3 s since, the same: the reason says the normal latency was not read and the floor was the figure used",
     long_failing(11, 3.0), U, E, "its normal latency was not read, and the figure used is the floor of 1 s"),
]


def since_words(evidence: Evidence) -> str:
    """The step's reason from "the minutes since" on: the diagnosis of the minutes since the scale."""
    bundle = swept(evidence).model_copy(update={"incident_started_at": SCALE.settle_at})
    then = next_step(SCALE, judge(SCALE, bundle, SETTINGS, None, TIMES.min_traffic_ratio), sweep_at(evidence), TIMES)
    return then.why[then.why.index("the minutes since"):]


SINCE = [
    ("a person's failing deploy since, the connector at 40 % CPU: the saturation the scale ended is not named",
     deployed_since(11), "CPU p99 95%"),
    ("500s since on an idle connector: not called saturation", saturated(11, ok=20, failed=20, code="500", cpu=0.3,
                                                                     instances=2), "connector_saturation"),
    ("new instances from +6: the saturation's dial timeouts before the scale are no error of the minutes since",
     late_instances(8, 6), "cannot connect to its database"),
]


@pytest.mark.parametrize("name,evidence,unsaid", SINCE, ids=[s[0] for s in SINCE])
def test_the_minutes_since_are_diagnosed_on_the_minutes_since_alone(name, evidence, unsaid):
    """`judging.minutes_since`: the diagnosis told after "the minutes since" reads from the settle time, not a
    lookback before it."""
    assert unsaid not in since_words(evidence)


HALF_FIX = [
    ("two minutes at 9 s before the 503s (the connector filling), 20 s since: not verified",
     saturated(11, p99=20.0).latency(OLD, -17, -15, 9.0)),
    ("one 9 s cold-start minute before the onset, 20 s since: not verified",
     saturated(11, p99=20.0).latency(OLD, -18, -17, 9.0)),
]


@pytest.mark.parametrize("name,evidence", HALF_FIX, ids=[h[0] for h in HALF_FIX])
def test_a_few_slow_minutes_before_the_onset_do_not_set_the_latency_bar(name, evidence):
    """The bar is three times the median of the clean minutes before the onset (`judging.usual_p99`), not their
    slowest."""
    _swept_as(evidence, U, E, "against a median of 150 ms")


@pytest.mark.parametrize("name,evidence,health,step,words", NO_BAR, ids=[w[0] for w in NO_BAR])
def test_a_scale_with_no_clean_minute_read_before_it_is_held_to_the_floor(name, evidence, health, step, words):
    _swept_as(evidence, health, step, words)
