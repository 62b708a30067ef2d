"""A connector whose signs rose only minutes after the requests began failing (503s, hangs at a client timeout) is
not their cause: a cause comes before its effect, and failing requests retried load the connector
(connector_signs.held_at_onset, read for 503s and hangs whose onset the window shows, not only for database dials
that timed out, once nothing more particular explains them: connector_saturation._rose_after_the_onset). Held, the
connector competing, never scaled alone; a sign at the onset (from 2 min before the first failing minute to 4 min
into it) scales as before. Before, only a symptom of dials that timed out without 503s or a hang was read so, and a
connector that filled seven minutes after a third of the requests began to 503 was scaled.

The onset is the sustained failure's (Facts.sustained_since: the first minute of the run of failing minutes that goes
on to the newest, gaps of up to 2 clean minutes kept inside it), not one stray early minute that cleared again; and a
CPU or throughput sign within 15 % of its bar at the onset (connector_minutes.NEAR_BAR) that crosses it as the
failures grow is load that was there before them, not retries'."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.diagnosis.windows import hms
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence, at
from tests.unit.test_connector_peer_users import GO_DIAL
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
FAILING = -12     # minutes: the 503s and 30 s hangs begin


def _bundle(rise: float, log: str = GO_DIAL, hang: bool = True):
    """An e2-micro connector (max 3) rising to its max at CPU p99 93% at `rise` minutes; a third of the requests 503
    from FAILING (after 30 s when `hang`), `log` in stderr."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, FAILING, 5, 30, code="503").latency(OLD, -90, FAILING, 0.09)
         .latency(OLD, FAILING, 5, 30.1 if hang else 0.2)
         .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
         .connector_metric("instances", -90, rise, 2).connector_metric("instances", rise, 5, 3)
         .connector_metric("cpu", -90, rise, 0.3).connector_metric("cpu", rise, 5, 0.93)
         .connector_metric("bytes", -90, 5, 2e6).log(FAILING + 1, log, OLD, count=30))
    return e.bundle()


ROWS = {
    # rise (min), scaled: a sign at the onset window [-14, -8] scales; later than it, held.
    "the connector rose with the failures": (FAILING, True),
    "it rose 2 min before them": (FAILING - 2, True),
    "it rose 3 min into them": (FAILING + 3, True),
    "it rose 7 min into them (retries)": (FAILING + 7, False),
    "it rose 10 min into them": (FAILING + 10, False),
}


@pytest.mark.parametrize("rise, scaled", ROWS.values(), ids=ROWS.keys())
def test_a_connector_that_rose_after_the_failures_began_is_held_not_scaled(rise, scaled):
    bundle = _bundle(rise)
    d = diagnose(bundle, S)
    action = plan(d, bundle, S).action
    assert (action == "scale_connector") is scaled, (action, d.summary)
    if not scaled:
        assert d.signature is not Signature.CONNECTOR_SATURATION, d.summary
        assert "rose only minutes later" in d.summary and "the requests fail from" in d.summary, d.summary
        assert "connector_saturation" in d.competing or "held, not ruled out" in d.summary, d.summary


def test_503s_answered_without_a_hang_are_read_at_their_onset_too():
    bundle = _bundle(FAILING + 8, hang=False)
    d = diagnose(bundle, S)
    assert plan(d, bundle, S).action is None, d.summary


SATURATED = -6    # minutes: the connector reaches its max at CPU p99 93% and a third of the requests 503 after 30 s


def _blipped(blip: str, blip_at: float):
    """The connector saturating WITH the failures at SATURATED, after one early minute at `blip_at` that cleared again:
    a single 30 s request answered 200 (the p99 at the hang bar), or 8 of 68 requests 503 (the status bar)."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, SATURATED, 5, 30, code="503").latency(OLD, -90, SATURATED, 0.09).latency(OLD, SATURATED, 5, 30.1)
         .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
         .connector_metric("instances", -90, SATURATED, 2).connector_metric("instances", SATURATED, 5, 3)
         .connector_metric("cpu", -90, SATURATED, 0.3).connector_metric("cpu", SATURATED, 5, 0.93)
         .connector_metric("bytes", -90, 5, 2e6).log(SATURATED + 1, GO_DIAL, OLD, count=30))
    if blip == "one slow request":
        e.latency(OLD, blip_at, blip_at + 1, 30.0)
    if blip == "one minute of 503s":
        e.requests(OLD, blip_at, blip_at + 1, 8, code="503")
    return e.bundle()


@pytest.mark.parametrize("blip_at", [-14, -12, -11])
@pytest.mark.parametrize("blip", ["none", "one slow request", "one minute of 503s"])
def test_a_lone_early_minute_is_not_the_onset_of_the_failures(blip, blip_at):
    bundle = _blipped(blip, blip_at)
    d = diagnose(bundle, S)
    assert plan(d, bundle, S).action == "scale_connector", (d.signature, d.summary)


def _ramp(cpu_at_onset: float, at_max: float):
    """Failures growing with the load: 12% of the requests 503 after 30 s from FAILING, a third from `at_max`, when
    the connector reaches its max at CPU p99 93%; from FAILING to then, its CPU p99 is `cpu_at_onset` (bar 80%)."""
    return (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
            .requests(OLD, FAILING, at_max, 8, code="503").requests(OLD, at_max, 5, 30, code="503")
            .latency(OLD, -90, FAILING, 0.09).latency(OLD, FAILING, 5, 30.1)
            .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
            .connector_metric("instances", -90, at_max, 2).connector_metric("instances", at_max, 5, 3)
            .connector_metric("cpu", -90, FAILING, 0.3).connector_metric("cpu", FAILING, at_max, cpu_at_onset)
            .connector_metric("cpu", at_max, 5, 0.93)
            .connector_metric("bytes", -90, 5, 2e6).log(FAILING + 1, GO_DIAL, OLD, count=30)).bundle()


RAMPS = {
    # CPU p99 from FAILING, the minute it reaches its max, scaled: within 15% of the 80% bar (>= 68%) and rising
    # with the failures, the load was there before them; well under it, the retries raised it.
    "72%, max 5 min into the failures": (0.72, FAILING + 5, True),
    "78%, max 5 min into them": (0.78, FAILING + 5, True),
    "72%, max 6 min into them": (0.72, FAILING + 6, True),
    "78%, max 6 min into them": (0.78, FAILING + 6, True),
    "68%, the margin's edge": (0.68, FAILING + 6, True),
    "60%, under the margin (retries)": (0.60, FAILING + 6, False),
    "30%, the retry storm's": (0.30, FAILING + 6, False),
}


@pytest.mark.parametrize("cpu_at_onset, at_max, scaled", RAMPS.values(), ids=RAMPS.keys())
def test_a_connector_near_its_bar_at_the_onset_and_rising_with_the_failures_is_scaled(cpu_at_onset, at_max, scaled):
    bundle = _ramp(cpu_at_onset, at_max)
    d = diagnose(bundle, S)
    action = plan(d, bundle, S).action
    assert (action == "scale_connector") is scaled, (action, d.summary)
    if not scaled:
        assert "rose only minutes later" in d.summary, d.summary


def test_a_clean_minute_inside_the_failures_does_not_move_their_onset():
    """The retry storm's failures from FAILING with one minute under both bars at FAILING + 3: still one run (gaps of
    up to 2 clean minutes), so the connector rising at FAILING + 7 rose after its onset and is held."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, FAILING, FAILING + 3, 30, code="503").requests(OLD, FAILING + 4, 5, 30, code="503")
         .latency(OLD, -90, FAILING, 0.09).latency(OLD, FAILING, 5, 30.1).latency(OLD, FAILING + 3, FAILING + 4, 0.09)
         .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
         .connector_metric("instances", -90, FAILING + 7, 2).connector_metric("instances", FAILING + 7, 5, 3)
         .connector_metric("cpu", -90, FAILING + 7, 0.3).connector_metric("cpu", FAILING + 7, 5, 0.93)
         .connector_metric("bytes", -90, 5, 2e6).log(FAILING + 1, GO_DIAL, OLD, count=30))
    bundle = e.bundle()
    d = diagnose(bundle, S)
    assert plan(d, bundle, S).action is None, d.summary
    assert f"the requests fail from {hms(at(FAILING))}" in d.summary and "rose only minutes later" in d.summary, d.summary


def _retry_climb(climb_from: float, cpu: float):
    """503s and 30 s hangs from FAILING; the connector's CPU p99 30% to `climb_from`, then `cpu` (the retries
    building), at its max at 93% from FAILING + 7: nothing near its bar before the failures began."""
    return (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
            .requests(OLD, FAILING, 5, 30, code="503").latency(OLD, -90, FAILING, 0.09).latency(OLD, FAILING, 5, 30.1)
            .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
            .connector_metric("instances", -90, FAILING + 7, 2).connector_metric("instances", FAILING + 7, 5, 3)
            .connector_metric("cpu", -90, climb_from, 0.3).connector_metric("cpu", climb_from, FAILING + 7, cpu)
            .connector_metric("cpu", FAILING + 7, 5, 0.93)
            .connector_metric("bytes", -90, 5, 2e6).log(FAILING + 1, GO_DIAL, OLD, count=30)).bundle()


def _early_run(length: int):
    """503s and hangs for `length` minutes from FAILING, 3 clean minutes, then failing again to now; the
    connector's CPU p99 30% until its max at 93% from FAILING + 8 (the retries)."""
    end = FAILING + length
    return (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
            .requests(OLD, FAILING, end, 30, code="503").requests(OLD, end + 3, 5, 30, code="503")
            .latency(OLD, -90, FAILING, 0.09).latency(OLD, FAILING, end, 30.1).latency(OLD, end, end + 3, 0.09)
            .latency(OLD, end + 3, 5, 30.1)
            .sql_up(-90, 5, 1).connector(machine_type="e2-micro", max_instances=3)
            .connector_metric("instances", -90, FAILING + 8, 2).connector_metric("instances", FAILING + 8, 5, 3)
            .connector_metric("cpu", -90, FAILING + 8, 0.3).connector_metric("cpu", FAILING + 8, 5, 0.93)
            .connector_metric("bytes", -90, 5, 2e6).log(FAILING + 1, GO_DIAL, OLD, count=30)).bundle()


AFTER_ONSET = {
    # "near its bar" is read up to and including the first failing minute, never in the minutes after it
    "CPU 30% at the onset, 72% from 2 min into the failures, max at +7": (_retry_climb(FAILING + 2, 0.72), False),
    "CPU 30% at the onset, 70% from 3 min into the failures, max at +7": (_retry_climb(FAILING + 3, 0.70), False),
    "CPU 30% until its max at +7": (_retry_climb(FAILING + 2, 0.30), False),
    "CPU 72% from the first failing minute, max at +7: near when they began": (_retry_climb(FAILING, 0.72), True),
    # an early run of more than EARLY_BLIP_MINUTES failing minutes that cleared is where the failures began
    "4 failing minutes, 3 clean, failing again; connector up at +8": (_early_run(4), False),
    "3 failing minutes, 3 clean, failing again; connector up at +8": (_early_run(3), False),
    "2 failing minutes, 3 clean, failing again; connector up at +8: the blip passed over": (_early_run(2), True),
}


@pytest.mark.parametrize("bundle, scaled", AFTER_ONSET.values(), ids=AFTER_ONSET.keys())
def test_load_that_rose_only_after_the_first_failing_minute_is_not_scaled(bundle, scaled):
    d = diagnose(bundle, S)
    action = plan(d, bundle, S).action
    assert (action == "scale_connector") is scaled, (action, d.signature, d.summary)
