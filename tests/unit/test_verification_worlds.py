"""Worlds after a fix that the sweep's judgement must not read as a recovery, or as the fix failing, from
tables (shared/remediation/judging.py). Pure, no I/O.

Times are minutes from the action's settle time (T0): applied at -5, settled at 0, deadline at +10. Before
the rollback the new revision answered 20 requests a minute 200 and 25 a minute 500 (55.6 % 5xx), p99
0.12 s, unless a row says otherwise."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.evidence import AlertContext
from shared.remediation.judging import HealthKind, StepKind, judge, judged_from, next_step
from tests.unit.builders import Evidence, at
from tests.unit.test_verification_judging import (CONNECTOR_CPU, MEMORY, NEW, OLD, rollback, scale_up, served, sweep_at,
                                                  swept)

SETTINGS = DiagnosisSettings()
TIMES = VerificationSettings()
OTHER_CONNECTOR = "projects/demo/locations/us-central1/connectors/backend-conn-2"

RATIO_5XX = AlertContext(policy="5xx ratio", metric_type="run.googleapis.com/request_count",
                         resource_type="cloud_run_revision", comparison="COMPARISON_GT", threshold=0.05,
                         condition_kind="threshold", ratio=True, metric_labels={"response_code_class": "5xx"})

LATENCY_30S = AlertContext(policy="p99", metric_type="run.googleapis.com/request_latencies",
                           resource_type="cloud_run_revision", comparison="COMPARISON_GT", threshold=30000,
                           condition_kind="threshold", aligner="ALIGN_PERCENTILE_99")


def judged(record, evidence: Evidence, closed: float | None = None):
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    health = judge(record, bundle, SETTINGS, at(closed) if closed is not None else None, TIMES.min_traffic_ratio)
    return health, next_step(record, health, sweep_at(evidence), TIMES)


def with_404s(now: float, per_minute: float, *, before: float = 0, ok: float = 40) -> Evidence:
    """The rolled-back-to revision answering `ok` requests a minute and `per_minute` 404s (a route the
    clients call since the deploy, which it lacks); `before` 404s a minute on the new revision before."""
    e = served(now, ok=ok)
    if per_minute:
        e.requests(OLD, -5, now, per_minute, "404")
    if before:
        e.requests(NEW, -30, -5, before, "404")
    return e


MIX = [
    # name, the action's alert, evidence, health, step, words
    ("5xx turned into 404s: 33 % 404 since, none before: not verified", RATIO_5XX, with_404s(6, 20),
     HealthKind.UNCLEAR, StepKind.WAIT, "mix of answers changed"),
    ("the same at the deadline: escalated, kept", RATIO_5XX, with_404s(11, 20), HealthKind.UNCLEAR,
     StepKind.ESCALATE, "not undone"),
    ("no alert kept: the same", None, with_404s(6, 20), HealthKind.UNCLEAR, StepKind.WAIT, ""),
    ("404s at the usual share (10 % before, 11 % since): verified", RATIO_5XX, with_404s(6, 5, before=5),
     HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("a 404 now and then (0.5 % since): verified", RATIO_5XX, with_404s(6, 0.2), HealthKind.HEALTHY,
     StepKind.VERIFY, ""),
    ("429s are refusals, not client errors: judged as 5xx (not clean; a failure moved from 500s, not undone)",
     RATIO_5XX, served(11, ok=20).requests(OLD, -5, 11, 20, "429"), HealthKind.UNCLEAR, StepKind.ESCALATE,
     "failure moved"),
]


@pytest.mark.parametrize("name,alert,evidence,health,step,words", MIX, ids=[m[0] for m in MIX])
def test_failures_that_turned_into_client_errors_are_not_a_recovery(name, alert, evidence, health, step, words):
    """A rollback to a revision that lacks a route the clients call since the deploy: its 5xx become 404s,
    and the share of 5xx and 429 is clean. request_count's response_code_class shows the mix. Before,
    the first three rows were `verified`."""
    record = rollback().model_copy(update={"alert": alert})
    health_, step_ = judged(record, evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert words in step_.why, step_.why


def slow(now: float, p99: float, *, before_p99: float = 0.12) -> Evidence:
    """Fast 503s before the rollback (p99 `before_p99`); the rolled-back-to revision answering 40 clean
    requests a minute at p99 `p99` since."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 20).requests(NEW, -30, -5, 25, "503").latency(NEW, -30, -5, before_p99)
    e.requests(OLD, -5, now, 40).latency(OLD, -5, now, p99)
    return e


SLOW = [
    # name, the action's alert, evidence, health, step
    ("fast 503s turned into 20 s answers after a 5xx alert: not verified", RATIO_5XX, slow(6, 20.0),
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("the same at the deadline: escalated, kept", RATIO_5XX, slow(11, 20.0), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("p99 0.4 s since, 0.12 s before: verified", RATIO_5XX, slow(6, 0.4), HealthKind.HEALTHY, StepKind.VERIFY),
    ("a service that was slow before too (6 s, now 8 s): verified", RATIO_5XX, slow(6, 8.0, before_p99=6.0),
     HealthKind.HEALTHY, StepKind.VERIFY),
    ("after a p99 alert at 30 s, p99 20 s: the alert's own latency bar decides", LATENCY_30S, slow(6, 20.0),
     HealthKind.HEALTHY, StepKind.VERIFY),
]


@pytest.mark.parametrize("name,alert,evidence,health,step", SLOW, ids=[s[0] for s in SLOW])
def test_fast_failures_turned_into_slow_answers_are_not_a_recovery(name, alert, evidence, health, step):
    """After a 5xx alert the p99 bar is the 25 s hang bar: a rollback whose revision answers every request
    in 20 s (its pool waiting on a database the new revision never reached) was `verified`."""
    record = rollback().model_copy(update={"alert": alert})
    health_, step_ = judged(record, evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("much slower than before" in health_.why) is (health is HealthKind.UNCLEAR), health_.why


def trade(now: float, *, hang_before: int, errors_before: float, hang_after: int, errors_after: float) -> Evidence:
    """40 requests a minute throughout, `errors_*` of them 503. Before the rollback the new revision hung
    (p99 30 s) in `hang_before` of its last 5 minutes; since, the rolled-back-to revision hangs in the last
    `hang_after` minutes before `now`."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 40 - errors_before).requests(NEW, -30, -5, errors_before, "503")
    e.latency(NEW, -30, -5, 0.2).latency(NEW, -10, -10 + hang_before, 30.0)
    e.requests(OLD, -5, now, 40 - errors_after).requests(OLD, -5, now, errors_after, "503")
    e.latency(OLD, -5, now, 0.2)
    if hang_after:
        e.latency(OLD, now - hang_after, now, 30.0)
    return e


TRADES = [
    # name, evidence, health, step
    ("hangs gone, 25 % 503 as before: not undone", trade(11, hang_before=5, errors_before=10, hang_after=0,
                                                        errors_after=10), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("hangs in 1 of 5 minutes since against 5 of 5, 25 % 503 as before: not undone",
     trade(11, hang_before=5, errors_before=10, hang_after=1, errors_after=10), HealthKind.UNCLEAR,
     StepKind.ESCALATE),
    ("503s cut from 55 % to 10 %, the hangs remain (3 of 5 minutes before, 5 of 5 since): not undone",
     trade(11, hang_before=3, errors_before=22, hang_after=5, errors_after=4), HealthKind.UNCLEAR,
     StepKind.ESCALATE),
    ("hangs gone, but more 503s than before (25 % to 40 %): undone", trade(11, hang_before=5, errors_before=10,
                                                                         hang_after=0, errors_after=16),
     HealthKind.FAILING, StepKind.UNDO),
    ("no better on either: undone", trade(11, hang_before=5, errors_before=10, hang_after=5, errors_after=10),
     HealthKind.FAILING, StepKind.UNDO),
]


@pytest.mark.parametrize("name,evidence,health,step", TRADES, ids=[t[0] for t in TRADES])
def test_a_rollback_that_ended_one_of_two_failures_is_not_undone(name, evidence, health, step):
    """The service failed two ways before the rollback, hangs and 503s. A rollback that ended the hangs
    while the 503s stayed at 25 % still failed `bad_error_ratio`, and was undone into the hangs; one that
    cut the 503s while the hangs it had before remained was undone into the 503s."""
    health_, step_ = judged(rollback(), evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("better than just before the action" in health_.why) is (health is HealthKind.UNCLEAR), health_.why


def long_timeout(now: float, timeout: float) -> Evidence:
    e = Evidence(now=now).revision(OLD, -180, timeout=timeout).revision(NEW, -20, timeout=timeout)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 20).requests(NEW, -30, -5, 25, "500").latency(NEW, -30, -5, 0.12)
    e.requests(OLD, -5, now, 40).latency(OLD, -5, now, 0.12)
    return e


UNFINISHED = [
    # name, evidence, health, step
    ("a 60-minute request timeout: a hang begun after the action has not ended yet", long_timeout(6, 3600),
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("the same at the deadline: escalated, kept", long_timeout(11, 3600), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("a 15-minute timeout, data to 11 minutes after the action: not yet", long_timeout(6, 900), HealthKind.UNCLEAR,
     StepKind.WAIT),
    ("a 15-minute timeout, 16 minutes after the action: verified", long_timeout(11, 900), HealthKind.HEALTHY,
     StepKind.VERIFY),
    ("the default 5-minute timeout, 11 minutes after the action: verified", long_timeout(6, 300),
     HealthKind.HEALTHY, StepKind.VERIFY),
]


@pytest.mark.parametrize("name,evidence,health,step", UNFINISHED, ids=[u[0] for u in UNFINISHED])
def test_clean_requests_do_not_show_that_none_hangs_before_the_request_timeout_has_passed(name, evidence, health,
                                                                                         step):
    """A request is counted once it ends (whether at its end or at its arrival is UNCONFIRMED on Google's
    page; a copy of the metric's description says at the end: under either, its latency is known only once
    it ends). Under a 60-minute request timeout, requests that hang since the
    rollback are in no point read before the deadline: the fast ones alone were `verified`."""
    health_, step_ = judged(rollback(), evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("may still be running" in health_.why) is (health is HealthKind.UNCLEAR), health_.why


def on_connector(now: float, connector: str) -> Evidence:
    e = Evidence(now=now).revision(OLD, -180, connector=connector).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 20).requests(NEW, -30, -5, 25, "503").latency(NEW, -30, -5, 0.12)
    e.requests(OLD, -5, now, 40).latency(OLD, -5, now, 0.12)
    return e.connector("e2-standard-4", 2, 4)


@pytest.mark.parametrize("connector, kind", [
    ("projects/demo/locations/us-central1/connectors/backend-conn", HealthKind.HEALTHY),
    (OTHER_CONNECTOR, HealthKind.UNCLEAR),      # its serving revision reaches the VPC another way now
    (None, HealthKind.UNCLEAR),                 # no connector at all (Direct VPC egress, no VPC access)
])
def test_a_connector_change_is_not_verified_by_a_service_that_no_longer_uses_the_connector(connector, kind):
    """The scale-up took, but the service serves from a revision on another connector (a deploy or a split
    since): its clean requests are the other path's doing. Before, `verified`."""
    health_, _ = judged(scale_up(), on_connector(6, connector))
    assert health_.kind is kind, health_.why
    assert ("no longer reaches its VPC through" in health_.why) is (kind is HealthKind.UNCLEAR), health_.why


ALREADY = [
    # Worlds the judgement already reads right, kept here so that they stay so.
    ("a load balancer failed over elsewhere: 3 clean requests a minute after 45", served(11, ok=3),
     HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("a load balancer sends a tenth of the traffic back, all of it clean", served(11, ok=4), HealthKind.UNCLEAR,
     StepKind.ESCALATE),
]


@pytest.mark.parametrize("name,evidence,health,step", ALREADY, ids=[a[0] for a in ALREADY])
def test_worlds_already_read_right(name, evidence, health, step):
    health_, step_ = judged(rollback(), evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why


def leftovers(now: float, *, leftover_until: float, to_errors: float = 0, timeout: float = 900,
              to_code: str = "503") -> Evidence:
    """Before the rollback the new revision hangs 12 of its 40 requests a minute to its 15-minute request
    timeout (28 answered 200, 12 cut with 504: 30 %, p99 at the timeout). Requests it took before the traffic
    moved keep ending, with 504, until `leftover_until`; the rolled-back-to revision answers 40 a minute
    (`to_errors` of them `to_code`) at p99 0.12 s."""
    e = Evidence(now=now).revision(OLD, -180, timeout=timeout).revision(NEW, -20, timeout=timeout)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 28).requests(NEW, -30, leftover_until, 12, "504").latency(NEW, -30, leftover_until, 900)
    e.requests(OLD, -5, now, 40 - to_errors).latency(OLD, -5, now, 0.12)
    if to_errors:
        e.requests(OLD, -5, now, to_errors, to_code)
    return e


LEFTOVERS = [
    # name, evidence, health, step
    ("the revision rolled back from still ending its hung requests with 504, the other clean: not undone",
     leftovers(11, leftover_until=11), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("the revision traffic went back to fails too, as before (50 % 504): undone",
     leftovers(11, leftover_until=11, to_errors=20, to_code="504").latency(OLD, -5, 11, 900), HealthKind.FAILING,
     StepKind.UNDO),
]


@pytest.mark.parametrize("name,evidence,health,step", LEFTOVERS, ids=[x[0] for x in LEFTOVERS])
def test_failures_of_the_revision_rolled_back_from_do_not_undo_the_rollback(name, evidence, health, step):
    """Cloud Run lets in-flight requests complete after a traffic change; a request is counted once it ends.
    Under a 15-minute request timeout, the revision rolled back from keeps adding 504s for 15 minutes after
    the rollback while the revision traffic went back to serves cleanly. Before, the service's share of 5xx
    (23 %, against 30 % just before) and its p99 (the maximum over revisions, at the timeout) read as the
    rollback failing, and it was undone into the hangs."""
    health_, step_ = judged(rollback(), evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("does not fail as a failing revision does" in health_.why) is (health is HealthKind.UNCLEAR), health_.why


def test_a_revision_rolled_back_to_with_too_few_requests_of_its_own_is_not_shown_failing():
    """A quiet service: the revision traffic went back to answers 2 requests a minute cleanly (10 in the
    window, under min_requests), while the revision rolled back from still ends 12 hung requests a minute
    with 504. The service fails 86 %, all of it the leftovers'. Before, the service's requests decided
    with fewer than min_requests of the revision's own, and the rollback was undone into the hangs; now
    nothing shows the revision it sent the traffic to failing: escalated, kept."""
    evidence = leftovers(11, leftover_until=11)
    evidence.req = {k: ({m: v * 0.05 for m, v in points.items()} if k[0] == OLD else points)
                    for k, points in evidence.req.items()}
    health_, step_ = judged(rollback(), evidence)
    assert (health_.kind, step_.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), health_.why
    assert "too few requests of its own" in health_.why, health_.why


FEW_LEFT = [
    # name, evidence, health, step
    ("a load balancer failed over elsewhere: 4 requests a minute left after 45, 3 of them failing: not undone",
     served(11, ok=1, errors=3), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("the traffic kept, failing as much: undone", served(11, ok=10, errors=30), HealthKind.FAILING, StepKind.UNDO),
]


@pytest.mark.parametrize("name,evidence,health,step", FEW_LEFT, ids=[f[0] for f in FEW_LEFT])
def test_the_few_requests_left_after_the_callers_went_elsewhere_do_not_undo_a_rollback(name, evidence, health, step):
    """A load balancer fails the callers over to another region after the rollback: 20 requests over the 5
    minutes judged, against 45 a minute before (9 %, under min_traffic_ratio). Clean, they were already
    not a recovery; failing, they were the rollback failing, and it was undone. Whether the action failed
    or the callers left (and the few left are probes or stragglers) the evidence does not say."""
    health_, step_ = judged(rollback(), evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("traffic is mostly gone" in health_.why) is (health is HealthKind.UNCLEAR), health_.why


def read_at_newest(evidence: Evidence):
    """The evidence read the moment its newest minute became visible (collected at `evidence.now`), as the
    sweep could before it judged only whole minutes."""
    return evidence.bundle().model_copy(update={"incident_started_at": rollback().settle_at,
                                                "collected_at": at(evidence.now),
                                                "request_lines": evidence.request_log(-6)})


def still_failing_a_little(now: float, *, visible_until: float) -> Evidence:
    """The revision traffic went back to answers 80 requests a minute, 1 of them 500 (1.2 %, over the 1 %
    bar); the 500 series is visible only up to `visible_until`, the 200s up to now."""
    e = served(now, ok=80)
    return e.requests(OLD, -5, visible_until, 1, "500")


def still_failing_partly(now: float, *, ok_visible_until: float) -> Evidence:
    """Before the rollback the new revision answered 35 requests a minute 200 and 15 500 (30 %); since,
    the revision traffic went back to answers 40 a minute 200 and 8 503 (16.7 %: better, under
    bad_error_ratio); its 200 series is visible only up to `ok_visible_until`, the 503s up to now."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 35).requests(NEW, -30, -5, 15, "500").latency(NEW, -30, -5, 0.12)
    e.requests(OLD, -5, ok_visible_until, 40).requests(OLD, -5, now, 8, "503").latency(OLD, -5, now, 0.12)
    return e


def test_a_minute_whose_500s_have_not_arrived_is_not_read_as_clean():
    """Read at +6, the 500 series showed up to +4 only: the window (+1, +6] held 3 500s in 403 requests
    (0.7 %), and the rollback was `verified` while the revision still failed 1.2 %. The sweep now judges
    only points at least facts.INGEST_LAG old: (0, +3], 3 in 243 (1.2 %), not healthy."""
    record = rollback()
    health = judge(record, read_at_newest(still_failing_a_little(6, visible_until=4)), SETTINGS, None,
                   TIMES.min_traffic_ratio)
    assert health.kind is HealthKind.UNCLEAR, health.why


def test_a_minute_whose_200s_have_not_arrived_is_not_read_as_failing():
    """Read at the deadline (+11), the 200 series showed up to +9 only: the window (+6, +11] held 40 503s in
    160 requests (25 %, over bad_error_ratio and over three quarters of the 30 % before), and the rollback
    was undone while its revision answered 16.7 % 503. Judged on whole minutes, (+3, +8]: 16.7 %, not
    failing as a failing revision does: escalated, kept."""
    record = rollback()
    health = judge(record, read_at_newest(still_failing_partly(11, ok_visible_until=9)), SETTINGS, None,
                   TIMES.min_traffic_ratio)
    step = next_step(record, health, at(11), TIMES)
    assert (health.kind, step.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), health.why


NO_INSTANCE = "The request was aborted because there was no available instance."


def at_its_limit(now: float, *, max_instances: int | None = 4, active: float = 4, refused: int = 0,
                 once: bool = False, service_max: int | None = None):
    """The revision traffic went back to answers 40 requests a minute, all 200, on `active` instances of its
    `max_instances` (after a deploy that lowered it, say). Under the reading where request_count leaves out
    Cloud Run's own refusals at max instances, the callers it turns away are not in it: `refused` request-log
    lines a minute say so (`once`: in one minute only), when the request log is kept at all."""
    e = Evidence(now=now).revision(OLD, -180, max_instances=max_instances).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 20).requests(NEW, -30, -5, 25, "500").latency(NEW, -30, -5, 0.12)
    e.requests(OLD, -5, now, 40).latency(OLD, -5, now, 0.12).instances(OLD, -5, now, active)
    for minute in [2] if once else range(-4, int(now) + 1):
        e.log(minute - 0.5, NO_INSTANCE, OLD, count=refused, log_id="run.googleapis.com/requests", severity="WARNING")
    bundle = swept(e).model_copy(update={"incident_started_at": rollback().settle_at})
    if service_max:
        bundle = bundle.model_copy(update={"service": bundle.service.model_copy(
            update={"max_instance_count": service_max})})
    return bundle


LIMITS = [
    # name, bundle, health
    ("at its 4 max instances, 20 callers a minute turned away and logged: not verified",
     at_its_limit(6, refused=20), HealthKind.UNCLEAR),
    ("at its 4 max instances, the request log excluded (nothing logged): not verified",
     at_its_limit(6), HealthKind.UNCLEAR),
    ("no max set, at Cloud Run's default of 100: not verified", at_its_limit(6, max_instances=None, active=100),
     HealthKind.UNCLEAR),
    ("at the service-level max of 6 instances: not verified", at_its_limit(6, max_instances=None, active=6,
                                                                           service_max=6), HealthKind.UNCLEAR),
    ("below its limit, 20 refusals a minute logged (a burst it cannot scale for): not verified",
     at_its_limit(6, active=3, refused=20), HealthKind.UNCLEAR),
    ("below its limit, one refusal in the window (0.8 %): verified", at_its_limit(6, active=3, refused=1, once=True),
     HealthKind.HEALTHY),
    ("below its limit, nothing refused: verified", at_its_limit(6, active=3), HealthKind.HEALTHY),
]


@pytest.mark.parametrize("name,bundle,health", LIMITS, ids=[x[0] for x in LIMITS])
def test_callers_turned_away_at_max_instances_are_not_a_recovery(name, bundle, health):
    """Whether request_count counts the 429s Cloud Run answers at max instances is unconfirmed; if it does
    not, a rollback onto a revision that turns a third of its callers away reads as clean. Before, the
    first five rows were `verified`: the 429s, in the log or not, were nowhere in the judgement."""
    health_ = judge(rollback(), bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert health_.kind is health, health_.why


def test_an_instance_count_not_read_does_not_show_a_revision_below_its_limit():
    bundle = at_its_limit(6, active=3).model_copy(update={"instances": None})
    health = judge(rollback(), bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert health.kind is HealthKind.UNCLEAR and "instance count" in health.why, health.why


def recovered_lately(now: float) -> Evidence:
    """Before the rollback the new revision answered 35 requests a minute 200 and 15 500 (30 %); the
    revision traffic went back to fails as much until +7 (30 a minute 200, 20 503: 40 %), then serves
    cleanly (a dependency both share came back, say): 50 a minute, all 200."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 35).requests(NEW, -30, -5, 15, "500").latency(NEW, -30, -5, 0.12)
    e.requests(OLD, -5, 7, 30).requests(OLD, -5, 7, 20, "503").requests(OLD, 7, now, 50)
    return e.latency(OLD, -5, now, 0.12)


def test_an_undo_needs_its_newest_minutes_failing_too():
    """Read at the deadline (+10), the whole minutes (0, +7] fail 40 %; the three newest, not yet whole,
    serve cleanly. Judged on the whole minutes alone, the rollback was undone while the service had
    recovered, and the traffic sent back to the revision that failed first. An undo needs the service
    failing read both ways: unclear, escalated, kept."""
    record = rollback()
    health = judge(record, read_at_newest(recovered_lately(10)), SETTINGS, None, TIMES.min_traffic_ratio)
    step = next_step(record, health, at(10), TIMES)
    assert (health.kind, step.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), health.why
    assert "not yet whole" in health.why, health.why


def test_a_verdict_needs_its_newest_minutes_no_worse_than_the_bar():
    """Read at +10, the whole minutes (+2, +7] serve cleanly; the three newest, not yet whole, already hold
    a third of their requests 503 (whatever 200s may still be missing beside them, those 503s happened).
    Judged on the whole minutes alone, `verified`; now unclear until they are whole."""
    e = served(10, ok=40, until=7)
    e.requests(OLD, 7, 10, 26).requests(OLD, 7, 10, 14, "503").latency(OLD, 7, 10, 0.12)
    health = judge(rollback(), read_at_newest(e), SETTINGS, None, TIMES.min_traffic_ratio)
    assert health.kind is HealthKind.UNCLEAR and "show failures already" in health.why, health.why


def test_a_verdict_after_a_5xx_latency_alert_needs_no_5xx_in_its_newest_minutes_either():
    """A rollback after a p99 policy on the latency of 5xx alone (health_bar.latency_codes: judged only with
    no 5xx or 429 left, its series then empty). The whole minutes (+2, +7] serve cleanly; the three newest,
    not yet whole, hold one 504 a minute among 121 (0.8 %, under the share's 1 % bar). Judged on the share
    alone, `verified`; a 5xx left is a point of the condition's own series (504s at 60 s): unclear."""
    alert = AlertContext(policy="p", metric_type="run.googleapis.com/request_latencies",
                         resource_type="cloud_run_revision", comparison="COMPARISON_GT", threshold=5000,
                         condition_kind="threshold", condition_filter='metric.type="run.googleapis.com/request_'
                         'latencies" AND metric.label.response_code_class="5xx"')
    e = served(10, ok=120, until=7)
    e.requests(OLD, 7, 10, 120).requests(OLD, 7, 10, 1, "504").latency(OLD, 7, 10, 0.12)
    health = judge(rollback().model_copy(update={"alert": alert}), read_at_newest(e), SETTINGS, None,
                   TIMES.min_traffic_ratio)
    assert health.kind is HealthKind.UNCLEAR and "show failures already" in health.why, health.why


def test_an_undo_needs_the_rollbacks_own_revision_failing_in_its_newest_minutes():
    """As above, but the revision rolled back from still ends hung requests with 504 in the newest
    minutes (a 15-minute request timeout): the service's newest minutes fail, the rollback's revision's
    own do not. Read on the service, the undo went ahead."""
    e = recovered_lately(10)
    e.requests(NEW, -5, 10, 30, "504")
    record = rollback()
    health = judge(record, read_at_newest(e), SETTINGS, None, TIMES.min_traffic_ratio)
    assert health.kind is HealthKind.UNCLEAR and "not yet whole" in health.why, health.why


def moved(now: float, since: dict[str, float], *, before: dict[str, float] | None = None, ok: float = 20) -> Evidence:
    """Before the rollback the new revision answered 20 requests a minute 200 and, a minute, the failures
    `before` by code (default 25 500s); since, the rolled-back-to revision answers `ok` 200s a minute and
    the failures `since` by code."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 20).latency(NEW, -30, -5, 0.12)
    for code, n in (before or {"500": 25}).items():
        e.requests(NEW, -30, -5, n, code)
    e.requests(OLD, -5, now, ok).latency(OLD, -5, now, 0.2)
    for code, n in since.items():
        e.requests(OLD, -5, now, n, code)
    return e


MOVED = [
    # name, action, evidence, health, step
    ("500s stopped, 429s at max instances (50 %): the failure moved, not undone", rollback(),
     moved(11, {"429": 20}), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("500s stopped, 504s at the request timeout (50 %): not undone", rollback(), moved(11, {"504": 20}),
     HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("the same before the deadline: waits", rollback(), moved(6, {"429": 20}), HealthKind.UNCLEAR, StepKind.WAIT),
    ("500s as before (40 %), 429s beside them: undone", rollback(), moved(11, {"500": 20, "429": 10}, ok=20),
     HealthKind.FAILING, StepKind.UNDO),
    ("429s before, 429s since: undone", rollback(), moved(11, {"429": 20}, before={"429": 25}),
     HealthKind.FAILING, StepKind.UNDO),
    ("500s and some 504s before (20 % of failures), 504s since: failing as before, undone", rollback(),
     moved(11, {"504": 20}, before={"500": 20, "504": 5}), HealthKind.FAILING, StepKind.UNDO),
    ("500s turned into 503s: another 5xx, failing as before, undone", rollback(), moved(11, {"503": 20}),
     HealthKind.FAILING, StepKind.UNDO),
    ("fewer 503s, but hanging where it did not (a trade the evidence does not rank): not undone", rollback(),
     trade(11, hang_before=0, errors_before=22, hang_after=5, errors_after=4), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("the revision rolled back from ending its 504s, the one traffic went back to failing 50 % 503 where it "
     "answered 504 before: not undone", rollback(), leftovers(11, leftover_until=11, to_errors=20), HealthKind.UNCLEAR,
     StepKind.ESCALATE),
    ("a connector change (never undone): 500s into 429s still says failing", scale_up(), moved(11, {"429": 20}),
     HealthKind.FAILING, StepKind.ESCALATE),
]


@pytest.mark.parametrize("name,record,evidence,health,step", MOVED, ids=[m[0] for m in MOVED])
def test_a_failure_that_moved_is_not_undone(name, record, evidence, health, step):
    """A rollback onto a revision whose max instances turn callers away (429), or whose requests reach the
    request timeout (504), stops the 500s and fails in another way: it still failed `bad_error_ratio` and was
    undone back into the 500s. Which failure is worse the evidence does not rank: escalated, kept."""
    health_, step_ = judged(record, evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("failure moved" in health_.why) is (health is HealthKind.UNCLEAR), health_.why


RECOVERED = "Monitoring closed it with a value of 0.41, below the condition's bar of 0.7 (COMPARISON_GT)"
MEMORY_SHOWN = "Monitoring closed it with a value of 0.52, below the condition's bar of 0.8 (COMPARISON_GT)"


def _refired(record, minute: float | None):
    if minute is None:
        return record
    return record.model_copy(update={"refired_at": at(minute), "refired_incident": "0.second"})


REFIRED = [
    # name, action, alert, evidence, CLOSED at (minute), re-fired at (minute), health, step
    ("a connector CPU alert closed under its bar, then fired again: not verified", scale_up(), CONNECTOR_CPU,
     served(6).connector("e2-standard-4", 2, 4), 3, 5, HealthKind.UNCLEAR, StepKind.WAIT),
    ("the same at the deadline: escalated", scale_up(), CONNECTOR_CPU, served(11).connector("e2-standard-4", 2, 4),
     3, 5, HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("another series of the policy opened before the first closed: not verified", scale_up(), CONNECTOR_CPU,
     served(6).connector("e2-standard-4", 2, 4), 3, 1, HealthKind.UNCLEAR, StepKind.WAIT),
    ("closed under its bar and never fired again: verified, as before", scale_up(), CONNECTOR_CPU,
     served(6).connector("e2-standard-4", 2, 4), 3, None, HealthKind.HEALTHY, StepKind.VERIFY),
    ("a memory alert closed under its bar, then fired again: not verified", rollback(), MEMORY, served(6), 3, 4,
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("a 5xx-ratio alert fired again, the requests clean at its bar: the requests decide, verified", rollback(),
     RATIO_5XX, served(6), None, 2, HealthKind.HEALTHY, StepKind.VERIFY),
]


@pytest.mark.parametrize("name,record,alert,evidence,closed,again,health,step", REFIRED, ids=[r[0] for r in REFIRED])
def test_a_closed_incident_whose_policy_fired_again_does_not_verify(name, record, alert, evidence, closed, again,
                                                                    health, step):
    """After an alert whose condition the health check does not read, the incident's CLOSED showing the
    value under the bar is the evidence the condition cleared. A new incident of the same policy opened
    during the verification (the connector's CPU back over 70 % a minute later) shows it held again: the
    action was `verified` on the first closing."""
    record = _refired(record.model_copy(update={"alert": alert}), again)
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    shown = RECOVERED if alert is CONNECTOR_CPU else MEMORY_SHOWN
    health_ = judge(record, bundle, SETTINGS, at(closed) if closed is not None else None, TIMES.min_traffic_ratio,
                    shown if closed is not None else "")
    step_ = next_step(record, health_, sweep_at(evidence), TIMES)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("fired again" in health_.why) is (health is HealthKind.UNCLEAR), health_.why


def burst(now: float, *, minute: float = 4, failing: float = 6) -> Evidence:
    """The rolled-back-to revision answering 40 clean requests a minute since, and `failing` 503s more in the
    minute ending at `minute` (the database's failover dropping a pool's connections: the failure the deploy
    did not cause, back for a minute): 13 % of that minute. A sweep judges the newest `recent_seconds` of
    whole minutes (5), which by the deadline no longer hold it."""
    return served(now).requests(OLD, minute - 1, minute, failing, "503")


def _started(record, alert, minute: float | None, alignment: float | None = None):
    """The record after its alert policy opened another incident that began at `minute` (None: none did)."""
    if alignment is not None:
        alert = alert.model_copy(update={"alignment_seconds": alignment})
    record = record.model_copy(update={"alert": alert})
    if minute is None:
        return record
    return record.model_copy(update={"refired_at": at(minute + 1), "refired_incident": "0.second",
                                     "refired_started_at": int(at(minute).timestamp()),
                                     "refired_started_incident": "0.second"})


REFIRED_JUDGED = [
    # name, action, alert, its alignment period (s), evidence, the new incident's start (minute), health, step
    ("no refiring: a minute's burst of 503s after the settle time, gone from the minutes judged, verified (as "
     "before)", rollback(), RATIO_5XX, 60, burst(11), None, HealthKind.HEALTHY, StepKind.VERIFY),
    ("the 5xx-ratio policy fired again on that minute: escalated at the deadline, kept", rollback(), RATIO_5XX, 60,
     burst(11), 4, HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("a p99 policy fired again after the settle time, before the deadline: not verified, waits", rollback(),
     LATENCY_30S, 60, served(6), 1, HealthKind.UNCLEAR, StepKind.WAIT),
    ("the same, the alignment period not stated (60 s read)", rollback(), RATIO_5XX, None, burst(11), 4,
     HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("a p99 policy fired again after the settle time, the p99 read here under its bar: escalated, kept", rollback(),
     LATENCY_30S, 60, served(11), 5, HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("the same after a connector scale-up on a 5xx alert", scale_up(), RATIO_5XX, 60,
     burst(11).connector("e2-standard-4", 2, 4), 4, HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("a 5-minute alignment wholly after the settle time: escalated", rollback(), RATIO_5XX, 300, burst(11, minute=5),
     6, HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("a refiring that began while the action settled (a cold start's 500s): the requests decide, verified",
     rollback(), RATIO_5XX, 60, burst(11, minute=-2), -2, HealthKind.HEALTHY, StepKind.VERIFY),
    ("a refiring whose minute straddles the settle time: the requests decide, verified", rollback(), RATIO_5XX, 60,
     burst(11, minute=0.5), 0.5, HealthKind.HEALTHY, StepKind.VERIFY),
    ("a 5-minute alignment whose span reaches back before the settle time: the requests decide, verified",
     rollback(), RATIO_5XX, 300, burst(11), 4, HealthKind.HEALTHY, StepKind.VERIFY),
    ("still failing and fired again: failing, undone, as before", rollback(), RATIO_5XX, 60, moved(11, {"503": 20}),
     4, HealthKind.FAILING, StepKind.UNDO),
]


@pytest.mark.parametrize("name,record,alert,alignment,evidence,started,health,step", REFIRED_JUDGED,
                         ids=[r[0] for r in REFIRED_JUDGED])
def test_an_alert_that_fired_again_after_the_settle_time_does_not_verify(name, record, alert, alignment, evidence,
                                                                          started, health, step):
    """After an alert the health check reads (a 5xx share, a p99), the live requests at its bar decided alone:
    a new incident of the same policy on the service, begun on minutes after the action settled (Monitoring's
    own evaluation, at its alignment, series and trigger), did not count, and the rollback was `verified`
    while the policy that paged had fired again on it (and the alert path had skipped that incident as the
    rollback's to verify). Now such an incident keeps it unclear, so escalated at the deadline, kept, naming
    the incident; one begun on minutes the sweep does not judge (the settle time) leaves the requests to decide."""
    record = _started(record, alert, started, alignment)
    health_, step_ = judged(record, evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("fired again on minutes after the action settled" in health_.why) is (health is HealthKind.UNCLEAR), \
        health_.why
    if health is HealthKind.UNCLEAR:
        assert "0.second" in health_.why and f"began at {at(started):%H:%M:%S}" in health_.why, health_.why


REFIRED_ON = [
    # name, the revision the new incident names, words in the verdict
    ("on the revision rolled back to", OLD, f"on {OLD}, the revision the rollback sent the traffic to"),
    ("on the revision rolled back from, reached by a tag URL", NEW,
     f"on {NEW}, the revision the rollback took the traffic from (still reached by a tag URL"),
    ("on a third revision", "backend-00003-new", "0.second, on backend-00003-new began"),
    ("naming none (the policy reduces revision_name away)", "", "incident 0.second began"),
]


@pytest.mark.parametrize("name,revision,words", REFIRED_ON, ids=[r[0] for r in REFIRED_ON])
def test_a_refiring_says_which_revision_it_is_about(name, revision, words):
    """The refired incident's revision (history.refired_revision, kept on the record) is said in the verdict:
    on the revision the rollback sent the traffic to, the condition held where the callers are served; on the
    one it took it from, on requests a tag URL still sends there. Either way not verified (the policy that
    paged is not shown cleared), and a person is told where to look. Before, the revision was not kept."""
    record = _started(rollback(), RATIO_5XX, 4, 60).model_copy(update={"refired_started_revision": revision,
                                                                       "refired_revision": revision})
    health_, step_ = judged(record, burst(11))
    assert (health_.kind, step_.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), health_.why
    assert words in health_.why, health_.why
    unread = _started(rollback(), MEMORY, 4).model_copy(update={"refired_revision": revision})
    health_, _ = judged(unread, served(11), closed=8)
    assert health_.kind is HealthKind.UNCLEAR and "fired again while it was verified" in health_.why, health_.why
    assert (f"(noted at {at(5):%H:%M:%S}), on {revision}" in health_.why) is bool(revision), health_.why


def tagged(now: float, *, tag: str | None = "green", through_tag: float = 3, code: str = "500", ok: float = 400,
           timeout: float = 300, tag_p99: float = 0.12) -> Evidence:
    """A busy service (400 requests a minute) whose deploy went out with `--tag green`: before the rollback
    the new revision answered 220 of its 400 a minute 500; since, the revision traffic went back to answers
    `ok` a minute cleanly, and the new revision, kept at 0% under its tag, answers `through_tag` a minute
    (a client channel pointed at the tag URL), `code`, at p99 `tag_p99`; its request timeout `timeout` s."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20, timeout=timeout)
    e.traffic(**{OLD.replace("-", "_"): 100})
    if tag:
        e.tag(NEW, tag)
    e.requests(NEW, -30, -5, 180).requests(NEW, -30, -5, 220, "500").latency(NEW, -30, -5, 0.12)
    e.requests(OLD, -5, now, ok).latency(OLD, -5, now, 0.12)
    if through_tag:
        e.requests(NEW, -5, now, through_tag, code).latency(NEW, -5, now, tag_p99)
    return e


TAG = "still answers its tag URL (green)"

TAGGED = [
    # name, action, evidence, health, step, words
    ("the tag URL still reaches the revision rolled back from, 3 requests a minute all 500 (0.7 % of the "
     "service's): escalated at the deadline, kept", rollback(), tagged(11), HealthKind.UNCLEAR, StepKind.ESCALATE,
     TAG),
    ("the same before the deadline: not verified, waits", rollback(), tagged(6), HealthKind.UNCLEAR, StepKind.WAIT,
     TAG),
    ("its tag's requests 503 from Cloud Run (the revision's instances failing): the same", rollback(),
     tagged(11, code="503"), HealthKind.UNCLEAR, StepKind.ESCALATE, TAG),
    ("its tag's requests clean but hanging (p99 40 s): the service's p99 says so already, not undone (as before)",
     rollback(), tagged(11, code="200", tag_p99=40), HealthKind.UNCLEAR, StepKind.ESCALATE, "another revision's"),
    ("its tag's requests clean: verified", rollback(), tagged(11, code="200"), HealthKind.HEALTHY, StepKind.VERIFY,
     ""),
    ("nobody calls the tag URL: verified", rollback(), tagged(11, through_tag=0), HealthKind.HEALTHY,
     StepKind.VERIFY, ""),
    ("its 500s are requests begun before the rollback, ending under its 15-minute request timeout, no tag "
     "reaching it: verified", rollback(), tagged(11, tag=None, timeout=900), HealthKind.HEALTHY,
     StepKind.VERIFY, ""),
    ("the same with a tag: its requests since are all ones it may have taken before the traffic moved: "
     "verified", rollback(), tagged(11, timeout=900), HealthKind.HEALTHY, StepKind.VERIFY, ""),
]


@pytest.mark.parametrize("name,record,evidence,health,step,words", TAGGED, ids=[t[0] for t in TAGGED])
def test_a_tag_url_still_reaching_the_failing_revision_does_not_verify(name, record, evidence, health, step, words):
    """Every traffic change keeps the service's tags at 0%: the deploy's `--tag green` URL still reaches the
    revision rolled back from. Its callers' 500s, a handful against the service's 400 clean requests a
    minute, were under the bar: `verified`, while every caller of that URL still failed. Its requests ending
    after any taken before the rollback could have (its request timeout and a minute) decide."""
    health_, step_ = judged(record, evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert (TAG in health_.why) is (words == TAG), health_.why
    assert words in health_.why, health_.why


def test_a_moved_failure_is_read_on_the_rollbacks_own_revision():
    """The revision rolled back from keeps ending requests it took before the traffic moved (its 500s,
    under a long request timeout), while the revision traffic went back to turns half of its own callers
    away with 429: the service's mix holds 500s as before, its own requests do not. Not undone."""
    evidence = moved(11, {"429": 20}).requests(NEW, -5, 11, 15, "500")
    health_, step_ = judged(rollback(), evidence)
    assert (health_.kind, step_.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), health_.why
    assert "failure moved" in health_.why, health_.why


def checked(now: float, *, callers: float, failing: float = 0, checks: float = 6, check_code: str = "200",
            code: str = "503") -> Evidence:
    """Before the action the new revision answered 45 requests a minute (20 200, 25 500); since, the
    revision traffic went back to answers `callers` of its callers' requests a minute (`failing` of them
    `code`) and `checks` a minute of Cloud Monitoring's uptime checks (one check, 6 checker locations, a
    60 s period), answered `check_code`."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 20).requests(NEW, -30, -5, 25, "500").latency(NEW, -30, -5, 0.12)
    if callers - failing:
        e.requests(OLD, -5, now, callers - failing)
    if failing:
        e.requests(OLD, -5, now, failing, code)
    if checks:
        e.uptime(OLD, -5, now, checks, check_code)
    return e.latency(OLD, -5, now, 0.12)


def busy(now: float, *, before: float, since: float) -> Evidence:
    """A busy service: `before` requests a minute on the new revision before the rollback (a fifth 500),
    `since` a minute of its callers on the revision traffic went back to, and the uptime checks' 6."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, before * 0.8).requests(NEW, -30, -5, before * 0.2, "500").latency(NEW, -30, -5, 0.12)
    e.requests(OLD, -5, now, since).uptime(OLD, -5, now, 6, "200")
    return e.latency(OLD, -5, now, 0.12)


UPTIME = [
    # name, action, the action's alert, evidence, the request log's switches, health, step, words
    ("a busy service, 20,000 callers a minute kept, its request log read cut at 1,000 lines (3 s): verified",
     rollback(), None, busy(6, before=20000, since=20000), {}, HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("a busy service whose callers went elsewhere (800 a minute against 20,000), its read cut: not verified",
     rollback(), None, busy(6, before=20000, since=800), {}, HealthKind.UNCLEAR, StepKind.WAIT, "callers went away"),
    ("only uptime checks left (6 a minute against 45): not verified", rollback(), None, checked(6, callers=0), {},
     HealthKind.UNCLEAR, StepKind.WAIT, "callers are mostly gone"),
    ("the same at the deadline: escalated, kept", rollback(), None, checked(11, callers=0), {}, HealthKind.UNCLEAR,
     StepKind.ESCALATE, "callers are mostly gone"),
    ("the same after a scale-up", scale_up(), None, checked(6, callers=0).connector("e2-standard-4", 2, 4), {},
     HealthKind.UNCLEAR, StepKind.WAIT, "callers are mostly gone"),
    ("2 callers a minute and the checks: not verified", rollback(), None, checked(6, callers=2), {},
     HealthKind.UNCLEAR, StepKind.WAIT, "callers are mostly gone"),
    ("callers kept (40 a minute) beside the checks: verified", rollback(), None, checked(6, callers=40), {},
     HealthKind.HEALTHY, StepKind.VERIFY, ""),
    # 25 a minute counted (56 % of 45, over the half a `verified` needs), of which 18 are uptime checks: the
    # callers' own 7 are 16 %, over min_traffic_ratio and under half. Verified before.
    ("callers down to 16-19 % (7 a minute against 45), the checks making up the rest: not verified", rollback(), None,
     checked(6, callers=7, checks=18), {}, HealthKind.UNCLEAR, StepKind.WAIT, "its callers are down to"),
    ("the same at the deadline: escalated, kept", rollback(), None, checked(11, callers=7, checks=18), {},
     HealthKind.UNCLEAR, StepKind.ESCALATE, "under the 50% a verified needs"),
    ("the uptime checks' lines excluded, the callers' whole: verified", rollback(), None, checked(6, callers=40),
     {"uptime_kept": 0}, HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("the request log not kept: who sent the requests is not known", rollback(), None, checked(6, callers=40),
     {"callers_kept": 0, "uptime_kept": 0}, HealthKind.UNCLEAR, StepKind.WAIT, "holds no line at all of the"),
    ("the same at the deadline: escalated, kept, saying why and what to do", rollback(), None, checked(11, callers=40),
     {"callers_kept": 0, "uptime_kept": 0}, HealthKind.UNCLEAR, StepKind.ESCALATE, "exclude only the uptime checker"),
    ("the request log sampled to 5 %: too few callers' lines to show them kept", rollback(), None,
     checked(6, callers=40), {"callers_kept": 0.05, "uptime_kept": 0.05}, HealthKind.UNCLEAR, StepKind.WAIT,
     "not shown kept"),
    ("callers failing 2 %, two checks' clean answers make it 0.9 %: not verified", rollback(), RATIO_5XX,
     checked(6, callers=10, failing=0.2, checks=12), {}, HealthKind.UNCLEAR, StepKind.WAIT,
     "callers' own requests still fail"),
    ("only failing uptime checks left at the deadline: not undone", rollback(), None,
     checked(11, callers=0, check_code="503"), {}, HealthKind.UNCLEAR, StepKind.ESCALATE, "callers are mostly gone"),
    ("callers failing as before beside the checks: undone", rollback(), None,
     checked(11, callers=40, failing=20, check_code="503"), {}, HealthKind.FAILING, StepKind.UNDO, ""),
]


@pytest.mark.parametrize("name,record,alert,evidence,log,health,step,words", UPTIME, ids=[u[0] for u in UPTIME])
def test_uptime_checks_are_not_the_services_callers(name, record, alert, evidence, log, health, step, words):
    """request_count does not say who sent a request; Cloud Monitoring's uptime checks reach the service
    wherever its callers went, and answer clean from a health path. After the callers left, 6 uptime checks a
    minute against 45 requests before kept over 10 % of the traffic, and the action was `verified` (a
    failing one `undone`); beside a few failing callers, their clean answers made the share clean. The
    request log's User-Agent tells them apart; a log not kept, or sampled, shows too few callers: unclear."""
    record = record.model_copy(update={"alert": alert})
    bundle = swept(evidence, **log).model_copy(update={"incident_started_at": record.settle_at})
    health_ = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    step_ = next_step(record, health_, sweep_at(evidence), TIMES)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert words in health_.why, health_.why


@pytest.mark.parametrize("since, health", [(20000, HealthKind.HEALTHY), (800, HealthKind.UNCLEAR)])
def test_a_busy_services_request_log_read_past_the_newest_point_shows_its_callers(since, health):
    """The sweep reads the request log up to its newest whole minute's read time; the metrics' newest point
    may end up to a minute before that. On a busy service (20,000 requests a minute) the 1,000 newest lines
    all fall in that last part minute, past the window judged: none was counted, and its callers read as not
    shown kept, so no fix on it was ever verified. The lines a cut read holds are counted over the time they
    cover; callers gone (800 a minute against 20,000) still are not verified."""
    record = rollback()
    bundle = swept(busy(6, before=20000, since=since)).model_copy(update={
        "incident_started_at": record.settle_at,
        # The request log as read near the end of the next minute, whose point Monitoring does not hold yet.
        "request_lines": busy(7, before=20000, since=since).request_log(-6)})
    health_ = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert health_.kind is health, health_.why


def scaling_from_zero(now: float, *, platform: bool, before_platform: bool = False) -> Evidence:
    """The rollback sends all traffic to a revision idle for hours: Cloud Run scales it from zero and, until
    its instances are up, answers 20 of its 40 requests a minute 500 itself ("no available instance",
    ERROR, in the request log: `platform`), where the new revision failed 25 of 45 with its own 500s
    (`before_platform`: Cloud Run's as well)."""
    e = moved(now, {"500": 20})
    for minute in range(-4, int(now) + 1):
        if platform:
            e.log(minute - 0.5, NO_INSTANCE, OLD, count=20, log_id="run.googleapis.com/requests", status=500)
    if before_platform:
        for minute in range(-29, -4):
            e.log(minute - 0.5, NO_INSTANCE, NEW, count=25, log_id="run.googleapis.com/requests", status=500)
    return e


NO_INSTANCE_500S = [
    # name, evidence, health, step
    ("the application's 500s stopped, Cloud Run's 'no available instance' 500s while it scales: not undone",
     scaling_from_zero(11, platform=True), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("the application's 500s as before (no such lines): undone", scaling_from_zero(11, platform=False),
     HealthKind.FAILING, StepKind.UNDO),
    ("Cloud Run's 500s before and since: failing as before, undone",
     scaling_from_zero(11, platform=True, before_platform=True), HealthKind.FAILING, StepKind.UNDO),
]


@pytest.mark.parametrize("name,evidence,health,step", NO_INSTANCE_500S, ids=[n[0] for n in NO_INSTANCE_500S])
def test_cloud_runs_no_available_instance_500s_are_its_capacity_not_the_applications(name, evidence, health, step):
    """request_count's 500s do not say whose they are. Cloud Run answers 500 "no available instance" when it
    cannot scale fast enough (its troubleshooting page; 429 at max instances): its capacity, as its 429s are.
    Counted with the application's 500s, a rollback onto a revision scaling from zero was read as failing as
    the bad revision did, and undone back into it."""
    health_, step_ = judged(rollback(), evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert ("failure moved" in health_.why) is (health is HealthKind.UNCLEAR), health_.why


def outlived(took: float | None) -> "ActionRecord":
    """A scale-up whose update outlived the write's 300 s wait: recorded (adopted from its intent) with the
    connector still UPDATING; `took`: when a sweep first read it READY with the change, if one did."""
    record = scale_up()
    after = {"connector": {**record.after["connector"], "state": "UPDATING"}}
    return record.model_copy(update={"after": after, "took_at": at(took) if took is not None else None})


def judged_since_took(record, evidence: Evidence):
    """As the sweep judges it: its evidence read from judging.judged_from (the settle time if not known)."""
    since = judged_from(record) or record.settle_at
    bundle = swept(evidence).model_copy(update={"incident_started_at": since})
    health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    return health, next_step(record, health, sweep_at(evidence), TIMES)


TOOK = [
    # name, record, evidence, health, step, words
    ("READY now, its update outlived the wait, when it took not known: not verified", outlived(None),
     served(6).connector("e2-standard-4", 2, 4), HealthKind.UNCLEAR, StepKind.WAIT, "outlived the write's wait"),
    ("the same at the deadline: escalated", outlived(None), served(11).connector("e2-standard-4", 2, 4),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "outlived the write's wait"),
    ("its update outlived the wait and the connector not read (a permanent refusal): not verified from the "
     "settle time", outlived(None), served(6), HealthKind.UNCLEAR, StepKind.WAIT, "was not read"),
    ("the same at the deadline: escalated", outlived(None), served(11), HealthKind.UNCLEAR, StepKind.ESCALATE,
     "was not read"),
    ("its write read it back READY and the connector not read now: judged from the settle time, verified",
     scale_up(), served(6), HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("took at +1, clean since: verified", outlived(1), served(6).connector("e2-standard-4", 2, 4), HealthKind.HEALTHY,
     StepKind.VERIFY, ""),
    ("took at +6, clean since but one whole minute by the deadline: the minutes while UPDATING do not count; as "
     "busy as before, it waits past the deadline for more", outlived(6), served(7).connector("e2-standard-4", 2, 4),
     HealthKind.UNCLEAR, StepKind.WAIT, "too little traffic"),
]


@pytest.mark.parametrize("name,record,evidence,health,step,words", TOOK, ids=[t[0] for t in TOOK])
def test_a_connector_change_is_judged_from_when_its_update_took(name, record, evidence, health, step, words):
    """A connector update that outlived the write's 300 s wait was recorded with the connector still UPDATING;
    its minutes were judged from the settle time, so clean minutes while the old instances alone carried the
    traffic verified it. Now they are judged from the first sweep that read it READY with the change."""
    health_, step_ = judged_since_took(record, evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert words in health_.why, health_.why


def demand(now: float, *, before_ok: float, before_failing: float, since: float, before_p99: float = 0.12,
           since_errors: float = 0) -> Evidence:
    """A connector scaled up at -5: before it, the service's callers sent `before_ok + before_failing` requests
    a minute, `before_failing` of them answered 503 (the saturated connector), p99 `before_p99`; since, `since`
    a minute, `since_errors` of them 503. On the connector as scaled (e2-standard-4, 2-4)."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -30, -5, before_ok).latency(OLD, -30, -5, before_p99)
    if before_failing:
        e.requests(OLD, -30, -5, before_failing, "503")
    e.requests(OLD, -5, now, since - since_errors).latency(OLD, -5, now, 0.12)
    if since_errors:
        e.requests(OLD, -5, now, since_errors, "503")
    return e.connector("e2-standard-4", 2, 4)


DEMAND = [
    # name, evidence, health, step, words
    ("450 a minute failing 250, 50 a minute clean since (the night): not verified",
     demand(6, before_ok=200, before_failing=250, since=50), HealthKind.UNCLEAR, StepKind.WAIT,
     "its load fell to what the connector carried before the change"),
    ("the same at the deadline: escalated, kept", demand(11, before_ok=200, before_failing=250, since=50),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "50 requests a minute"),
    ("a client stopped: 180 a minute, under the 200 the old connector answered: not verified",
     demand(6, before_ok=200, before_failing=250, since=180), HealthKind.UNCLEAR, StepKind.WAIT,
     "answered without a 5xx or 429"),
    ("hanging before (p99 30 s), 40 a minute answered then, 20 since: not verified",
     demand(6, before_ok=40, before_failing=0, since=20, before_p99=30.0), HealthKind.UNCLEAR, StepKind.WAIT,
     "its load fell"),
    ("hanging before at 40 a minute, 40 since answered fast: verified",
     demand(6, before_ok=40, before_failing=0, since=40, before_p99=30.0), HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("the load kept (430 a minute, more than the 200 carried): verified",
     demand(6, before_ok=200, before_failing=250, since=430), HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("a little less than the load it failed under, more than it carried: verified",
     demand(6, before_ok=20, before_failing=25, since=40), HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("partial recovery, 30 % 503 to 3 %: not healthy, not failing, escalated at the deadline",
     demand(11, before_ok=280, before_failing=120, since=400, since_errors=12), HealthKind.UNCLEAR,
     StepKind.ESCALATE, "not failing as before"),
]


@pytest.mark.parametrize("name,evidence,health,step,words", DEMAND, ids=[d[0] for d in DEMAND])
def test_a_connector_change_is_not_verified_on_a_load_the_old_connector_carried(name, evidence, health, step, words):
    """A saturated connector answers what it can and fails the rest; once the demand falls to what it
    answered (the night, a client stopped), the old connector serves it cleanly too. Before, a scale-up
    after 450 requests a minute failing 250 was `verified` on 50 a minute, over min_traffic_ratio's 10 %."""
    health_, step_ = judged(scale_up(), evidence)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert words in (health_.why + step_.why), health_.why


def test_a_connector_deleted_since_is_escalated_at_once_not_verified():
    """A connector change whose connector answers NOT_FOUND (deleted since): `changed`, so escalated at once
    with nothing written, however clean its services' requests (judging.connector_gone)."""
    from shared.remediation.judging import connector_gone
    health = connector_gone(scale_up(), "GetConnector: 404 NOT_FOUND Connector backend-conn not found")
    step = next_step(scale_up(), health, sweep_at(served(6)), TIMES)
    assert (health.kind, step.kind) == (HealthKind.CHANGED, StepKind.ESCALATE), health.why
    assert "no longer exists" in step.why and "nothing written" in step.why, step.why


def test_a_sweeper_whose_clock_is_ahead_does_not_read_a_minute_not_yet_whole_as_clean():
    """The clock-skew drill: a sweeper 2 minutes fast. At real +8 the 500 series shows up to +5 only (each
    series is ingested on its own, up to INGEST_LAG after its minute), the 200s up to +8. Cut at its own
    time less INGEST_LAG (+7), the window held the minutes +6 and +7 without their 500s: 0.7 %, under the
    1 % bar, and the rollback was `verified` while its revision still failed 1.2 %. The sweep's message
    shows the clock ahead (its publish time, clock.ahead_of_server), and the cut moves back by as much."""
    from datetime import timedelta
    ahead = timedelta(minutes=2)
    evidence = still_failing_a_little(8, visible_until=5)
    read = evidence.bundle().model_copy(update={"incident_started_at": rollback().settle_at,
                                                "collected_at": at(8) + ahead,
                                                "request_lines": evidence.request_log(-6)})
    unaware = judge(rollback(), read, SETTINGS, None, TIMES.min_traffic_ratio)
    aware = judge(rollback(), read.model_copy(update={"clock_ahead": ahead}), SETTINGS, None, TIMES.min_traffic_ratio)
    assert aware.kind is HealthKind.UNCLEAR, aware.why
    assert unaware.kind is HealthKind.HEALTHY, unaware.why     # what a cut by the fast clock alone reads


# --- the failure's onset long before the write ---------------------------------------------------------------
# A deploy at -42 (minutes from T0, the settle time; the rollback written at -5) failing since -40: the
# callers, 1,000 requests a minute before it, give up as it fails (circuit breakers, users leaving), 140 a
# minute in the quarter hour before the rollback. The incident opened at -35 (its condition's duration) and
# the rollback came 30 minutes later (a proposal approved late). The sweep looked for the onset only in a
# lookback before the settle time (from -15): the rate before the failures began was unseen, and 20 clean
# requests a minute, 2 % of the demand, kept more than 10 % of the 140 just before the action: `verified`.

def _late_rollback() -> object:
    return rollback().model_copy(update={"incident_started_at": int(at(-35).timestamp())})


def _long_failure(now: float, after: float) -> Evidence:
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -42)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -75, -42, 1000).latency(OLD, -75, -42, 0.12)
    e.requests(NEW, -42, -40, 1000).requests(NEW, -40, -20, 405).requests(NEW, -40, -20, 495, "500")
    e.requests(NEW, -20, -5, 63).requests(NEW, -20, -5, 77, "500").latency(NEW, -42, -5, 0.12)
    e.requests(OLD, -5, now, after).latency(OLD, -5, now, 0.12)
    return e


ONSET = [
    ("2 % of the demand back, the onset 35 minutes before the write: not verified", _late_rollback(),
     _long_failure(11, after=20), HealthKind.UNCLEAR, StepKind.ESCALATE, "before the failures began"),
    ("control: the callers back (800 a minute): verified", _late_rollback(), _long_failure(11, after=800),
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    # 80 a minute: 57 % of the lookback's 140 (over the half a `verified` needs: judging.verified_kept), 8 % of
    # the 1,000 before the onset.
    ("control: no incident start recorded (an operator's rollback): the rate before the action, as before",
     rollback(), _long_failure(11, after=80), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
]


@pytest.mark.parametrize("name, record, evidence, health, step, words", ONSET, ids=[c[0] for c in ONSET])
def test_the_demand_before_an_onset_long_before_the_write_is_read(name, record, evidence, health, step, words):
    got, next_ = judged(record, evidence)
    assert (got.kind, next_.kind) == (health, step), got.why
    assert words in got.why, got.why


def canary_failing_lately(now: float, failing: float = 2) -> Evidence:
    """Before a connector scale-up, both revisions on the saturated connector failed 15 % to 25 % with 503 at a
    4 s p99; after it, backend-00002-xyz (a canary at 5 % of the split, on the same connector) and
    backend-00001-abc serve cleanly until +7; in the three newest minutes, not yet whole, the canary fails
    2 of its 22 requests a minute with 503 (9 %), the service 2 of 422 (0.5 %, under the 1 % bar)."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 95, NEW.replace("-", "_"): 5})
    e.requests(OLD, -30, -5, 340).requests(OLD, -30, -5, 60, "503").latency(OLD, -30, -5, 4.0)
    e.requests(NEW, -30, -5, 15).requests(NEW, -30, -5, 5, "503").latency(NEW, -30, -5, 4.0)
    e.requests(OLD, -5, now, 400).latency(OLD, -5, now, 0.12)
    e.requests(NEW, -5, now, 20).latency(NEW, -5, now, 0.12)
    if failing:
        e.requests(NEW, 7, now, failing, "503")
    return e.connector("e2-standard-4", 2, 4)


def test_a_verdict_after_an_alert_naming_a_revision_needs_that_revisions_newest_minutes_no_worse_than_the_bar():
    """The alert was a 5xx share per revision (any one series, grouped by revision_name) naming the canary:
    its condition is the canary's own share, which `healthy` reads on the whole minutes
    (diagnose._named_revision_failing). The newest minutes, not yet whole, were read on the service alone: the
    canary's 503s there (9 % of its requests, 0.5 % of the service's) left a `verified` standing. Now they unmake
    it, as the service's own failures there do."""
    per_revision = RATIO_5XX.model_copy(update={
        "revision": NEW, "group_by": ["resource.label.service_name", "resource.label.revision_name"],
        "denominator_filter": 'metric.type="run.googleapis.com/request_count"', "denominator_aggregated": True,
        "denominator_reducer": "REDUCE_SUM",
        "denominator_group_by": ["resource.label.service_name", "resource.label.revision_name"]})
    record = scale_up().model_copy(update={"alert": per_revision})
    e, clean = canary_failing_lately(10), canary_failing_lately(10, failing=0)

    health = judge(record, read_at_newest(e), SETTINGS, None, TIMES.min_traffic_ratio)
    control = judge(record, read_at_newest(clean), SETTINGS, None, TIMES.min_traffic_ratio)

    assert control.kind is HealthKind.HEALTHY, control.why
    assert health.kind is HealthKind.UNCLEAR and "show failures already" in health.why, health.why
    assert NEW in health.why, health.why
