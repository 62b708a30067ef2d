"""The Run adapter's wait on its UpdateService operation, read from the schedule's values: no server, no clock.

google.api_core polls an operation at once, then sleeps `random.uniform(0.0, delay)` before each
further poll, the delay starting at `initial` and growing x`multiplier` up to `maximum`
(google/api_core/retry/retry_base.py exponential_sleep_generator; future/polling.py DEFAULT_POLLING,
google-api-core 2.44.0). So the k-th poll comes on average half the sum of the first k-1 delays
after the first, and at most the sum. The figures docs/performance.md gives for the storm (a first
write waits 1.25 s on average on the Run stand-in's operation, done at its third poll) and the number
of GetOperation calls a write may make before it is handed to the sweep rest on these values: a
change either way must be a decision, made with bench/poll_schedule.py, not a slip."""
from __future__ import annotations

import pytest

from shared.gcp.run import RUN_POLL_INITIAL_DELAY, RUN_POLL_MAX_DELAY, CloudRunAdapter

# The Run stand-in's default: two GetOperation calls find the operation running, the third finds it
# done (sandbox/standins/run.py, RunStandIn(lro_polls_before_done=2)).
STANDIN_RUNNING_POLLS = 2


def delays(polling, count: int) -> list[float]:
    """The first `count` delays the sleeps are drawn under (retry_base.exponential_sleep_generator:
    `max_delay = min(initial, maximum)`, then `min(max_delay * multiplier, maximum)`). api_core's Retry
    has no public getters for them; its repr prints the same private fields."""
    out, delay = [], min(polling._initial, polling._maximum)
    for _ in range(count):
        out.append(delay)
        delay = min(delay * polling._multiplier, polling._maximum)
    return out


def polls_within(polling, seconds: float) -> int:
    """GetOperation calls made before `seconds` pass when every sleep is its mean (half its delay)."""
    polls, spent, delay = 1, 0.0, min(polling._initial, polling._maximum)
    while spent + delay / 2 <= seconds:
        spent += delay / 2
        polls += 1
        delay = min(delay * polling._multiplier, polling._maximum)
    return polls


def test_the_deployed_adapter_polls_on_api_cores_schedule_with_its_own_maximum():
    polling = CloudRunAdapter()._operation_polling()
    assert (polling._initial, polling._multiplier, polling._maximum) == (1.0, 1.5, 10.0)
    assert (RUN_POLL_INITIAL_DELAY, RUN_POLL_MAX_DELAY) == (1.0, 10.0)


def test_a_constructor_schedule_is_the_one_polled_on():
    polling = CloudRunAdapter(poll_initial_delay=0.01, poll_max_delay=0.05)._operation_polling()
    assert delays(polling, 4) == pytest.approx([0.01, 0.015, 0.0225, 0.03375])
    assert delays(polling, 6)[-1] == 0.05


@pytest.mark.parametrize("running_polls, mean_wait, most", [
    (0, 0.0, 0.0),           # done in UpdateService's answer: no poll
    (1, 0.5, 1.0),           # done at the 2nd poll
    (2, 1.25, 2.5),          # the stand-in's default, the storm's 3.0 polls a write
    (3, 2.375, 4.75),
])
def test_the_wait_until_the_poll_that_finds_the_operation_done(running_polls, mean_wait, most):
    waits = delays(CloudRunAdapter()._operation_polling(), running_polls)
    assert sum(waits) / 2 == pytest.approx(mean_wait)
    assert sum(waits) == pytest.approx(most)


def test_the_storm_figure_rests_on_the_stand_ins_default():
    waits = delays(CloudRunAdapter()._operation_polling(), STANDIN_RUNNING_POLLS)
    assert sum(waits) / 2 == pytest.approx(1.25)


def test_polls_before_the_hand_off_to_the_sweep_stay_few():
    """A write not done within operation_timeout is recorded for the sweep; until then each poll is a
    Cloud Run Admin API read. About 28 on average over the 120 s: a schedule polling far more often
    (a maximum under a few seconds) would spend reads on an operation that takes minutes."""
    adapter = CloudRunAdapter()
    count = polls_within(adapter._operation_polling(), adapter._operation_timeout)
    assert count == 28
    assert count <= 40
