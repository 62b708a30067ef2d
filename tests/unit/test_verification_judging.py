"""The verification sweep's judgement of one applied action, from tables: what the live evidence says
(shared/remediation/judging.judge) and what the sweep does with it (next_step). Pure, no I/O.

Times are minutes from the action's settle time (T0): applied at -5, settled at 0, deadline at +10."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.evidence import AlertContext, EvidenceBundle, split_text
from shared.diagnosis.facts import INGEST_LAG
from shared.remediation.judging import (Health, HealthKind, StepKind, combine, judge, next_step, service_gone,
                                       unread_notice_due)
from shared.remediation.records import ActionRecord, ActionState
from tests.unit.builders import CONNECTOR, SERVICE, Evidence, at

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
SETTINGS = DiagnosisSettings()
TIMES = VerificationSettings()


def rollback() -> ActionRecord:
    return ActionRecord(key="i|s|rollback_traffic", incident_id="i", target=SERVICE, service=SERVICE,
                        action="rollback_traffic", signature="bad_revision", reversible=True,
                        params={"to_revision": OLD, "from_revision": NEW}, applied_at=at(-5), settle_at=at(0),
                        deadline_at=at(10))


def scale_up() -> ActionRecord:
    return ActionRecord(key="i|c|scale_connector", incident_id="i", target=CONNECTOR, service=SERVICE,
                        action="scale_connector", signature="connector_saturation", reversible=False,
                        params={"min_instances": 2, "max_instances": 4, "machine_type": "e2-standard-4"},
                        # The write's read-back: its update over, the connector READY with the change.
                        after={"connector": {"name": CONNECTOR, "state": "READY", "machine_type": "e2-standard-4",
                                             "min_instances": 2, "max_instances": 4}},
                        applied_at=at(-5), settle_at=at(0), deadline_at=at(10))


def served(now: float, *, ok: float = 40, errors: float = 0, code: str = "500", since: float = -5,
           until: float | None = None, p99: float = 0.12, split: dict[str, int] | None = None) -> Evidence:
    """The rolled-back-to revision serving from `since` to `until` (default: now), as Monitoring shows it."""
    end = now if until is None else until
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{k.replace("-", "_"): v for k, v in (split or {OLD: 100}).items()})
    e.requests(NEW, -30, -5, 20).requests(NEW, -30, -5, 25, "500").latency(NEW, -30, -5, 0.12)
    if ok:
        e.requests(OLD, since, end, ok)
    if errors:
        e.requests(OLD, since, end, errors, code)
    if ok or errors:
        e.latency(OLD, since, end, p99)
    return e


def sweep_at(evidence: Evidence):
    """When a sweep reads `evidence`: Monitoring's points up to `evidence.now` are whole by then (a point is
    visible up to ~180 s after its minute, facts.INGEST_LAG; the sweep judges only points that old)."""
    return at(evidence.now) + INGEST_LAG


def swept(evidence: Evidence, **request_log) -> EvidenceBundle:
    """The evidence as a sweep reads it, at `sweep_at`, with the request log of the minutes since the
    action (`request_log`: Evidence.request_log's switches)."""
    return evidence.bundle().model_copy(update={"collected_at": sweep_at(evidence),
                                                "request_lines": evidence.request_log(-6, **request_log)})


def verdict(record: ActionRecord, evidence: Evidence, closed_minute: float | None = None):
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    health = judge(record, bundle, SETTINGS, at(closed_minute) if closed_minute is not None else None)
    return health, next_step(record, health, sweep_at(evidence), TIMES)


CASES = [
    # name, record, evidence, closed at, health, step, words in the reason
    ("recovered", rollback(), served(6), None, HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("recovered, not judged before the settle data", rollback(), served(1), None, HealthKind.UNCLEAR, StepKind.WAIT,
     ""),
    ("no point since the rollback at the deadline (late, or no requests)", rollback(), served(11, until=-3), None,
     HealthKind.UNCLEAR, StepKind.ESCALATE, "not undone"),
    ("closed, but no point since: not verified", rollback(), served(11, until=-3), 4, HealthKind.UNCLEAR,
     StepKind.ESCALATE, "incident closed at"),
    ("closed before the data arrived: waits for it", rollback(), served(3, until=-1), 2, HealthKind.UNCLEAR,
     StepKind.WAIT, ""),
    ("clients gave up: 2 requests a minute", rollback(), served(11, ok=2), None, HealthKind.UNCLEAR,
     StepKind.ESCALATE, "too little traffic"),
    ("still failing before the deadline", rollback(), served(6, ok=20, errors=20), None, HealthKind.FAILING,
     StepKind.WAIT, ""),
    ("still failing at the deadline", rollback(), served(11, ok=20, errors=20), None, HealthKind.FAILING,
     StepKind.UNDO, "still failing"),
    ("still failing, a sweep a few minutes late", rollback(), served(16, ok=20, errors=20), None,
     HealthKind.FAILING, StepKind.UNDO, ""),
    ("still failing, a sweep hours late", rollback(), served(190, ok=20, errors=20), None, HealthKind.FAILING,
     StepKind.ESCALATE, "after the deadline"),
    ("hanging at the client timeout where it answered fast 500s before: the failure moved, not undone", rollback(),
     served(11, p99=30.0), None, HealthKind.UNCLEAR, StepKind.ESCALATE, "failure moved"),
    ("hanging at the client timeout with the 500s as before: undone", rollback(),
     served(11, ok=20, errors=20, p99=30.0), None, HealthKind.FAILING, StepKind.UNDO, "p99"),
    ("helped, 5% 5xx left", rollback(), served(11, ok=38, errors=2), None, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "not failing as before"),
    ("cold start: 429s that cleared before the window", rollback(),
     served(8, ok=30).requests(OLD, -5, 2, 10, "429"), None, HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("cold start: 429s still in the window, before the deadline", rollback(),
     served(5, ok=30).requests(OLD, -5, 2, 10, "429"), None, HealthKind.UNCLEAR, StepKind.WAIT, ""),
    ("cold start: 429s at 5%", rollback(), served(11, ok=38, errors=2, code="429"), None, HealthKind.UNCLEAR,
     StepKind.ESCALATE, "not undone"),
    ("a person moved traffic since, healthy", rollback(), served(6, split={OLD: 50, NEW: 50}), None,
     HealthKind.CHANGED, StepKind.ESCALATE, "no longer serves as the rollback left it"),
    ("a person moved traffic since, failing at the deadline", rollback(),
     served(11, ok=20, errors=20, split={NEW: 100}), None, HealthKind.CHANGED, StepKind.ESCALATE, "nothing written"),
    ("connector as scaled, services recovered", scale_up(),
     served(6).connector("e2-standard-4", 2, 4), None, HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("connector scaled back by Terraform", scale_up(),
     served(6).connector("e2-micro", 2, 3), None, HealthKind.CHANGED, StepKind.ESCALATE, "max_instances 3"),
    ("connector update failed: ERROR", scale_up(),
     served(6).connector("e2-standard-4", 2, 4, state="ERROR"), None, HealthKind.CHANGED, StepKind.ESCALATE,
     "state ERROR"),
    ("connector still UPDATING", scale_up(),
     served(6).connector("e2-micro", 2, 3, state="UPDATING"), None, HealthKind.UNCLEAR, StepKind.WAIT, ""),
    ("connector still UPDATING at the deadline", scale_up(),
     served(11).connector("e2-micro", 2, 3, state="UPDATING"), None, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "still being updated"),
    ("connector at its new max, still failing", scale_up(),
     served(11, ok=20, errors=20, code="503").connector("e2-standard-4", 2, 4), None, HealthKind.FAILING,
     StepKind.ESCALATE, "cannot be undone"),
]


@pytest.mark.parametrize("name,record,evidence,closed,health,step,words", CASES, ids=[c[0] for c in CASES])
def test_the_sweep_judges_an_action_on_evidence_since_it_settled(name, record, evidence, closed, health, step,
                                                                  words):
    judged, then = verdict(record, evidence, closed)
    assert (judged.kind, then.kind) == (health, step), judged.why
    assert words in then.why, then.why


def test_an_undo_needs_a_reversible_rollback():
    record = rollback().model_copy(update={"reversible": False})
    _, then = verdict(record, served(11, ok=20, errors=20))
    assert then.kind is StepKind.ESCALATE and "cannot be undone" in then.why


def test_late_is_one_verification_period_after_the_deadline():
    record = rollback()
    period = record.deadline_at - record.settle_at
    failing = served(11, ok=20, errors=20)
    bundle = swept(failing).model_copy(update={"incident_started_at": record.settle_at})
    health = judge(record, bundle, SETTINGS)
    assert next_step(record, health, record.deadline_at + period, TIMES).kind is StepKind.UNDO
    assert next_step(record, health, record.deadline_at + period + timedelta(seconds=1), TIMES).kind \
        is StepKind.ESCALATE


def _alert(metric: str, threshold: float, **more) -> AlertContext:
    return AlertContext(policy="p", metric_type=metric, resource_type="cloud_run_revision",
                        comparison="COMPARISON_GT", threshold=threshold, condition_kind="threshold", **more)


LATENCY_2S = _alert("run.googleapis.com/request_latencies", 2000)
RATIO_HALF_PERCENT = _alert("run.googleapis.com/request_count", 0.005, ratio=True,
                            metric_labels={"response_code_class": "5xx"})
MEMORY = _alert("run.googleapis.com/container/memory/utilizations", 0.9)

BARS = [
    # name, the action's alert, evidence, step
    ("p99 8 s after a 2 s latency alert: not healthy", LATENCY_2S, served(6, p99=8.0), StepKind.WAIT),
    # 8 s against 0.12 s before the action: slower than before (judging.slower_than_before), not verified.
    ("p99 8 s, no alert kept: the default hang bar, but 60 times slower than before", None, served(6, p99=8.0),
     StepKind.WAIT),
    ("p99 0.3 s, no alert kept: the default hang bar", None, served(6, p99=0.3), StepKind.VERIFY),
    ("p99 0.5 s after a 2 s latency alert", LATENCY_2S, served(6, p99=0.5), StepKind.VERIFY),
    ("0.8 % 5xx after a 0.5 % ratio alert: not healthy", RATIO_HALF_PERCENT, served(6, ok=496, errors=4),
     StepKind.WAIT),
    ("0.8 % 5xx, no alert kept: the default 1 %", None, served(6, ok=496, errors=4), StepKind.VERIFY),
    ("0.8 % 5xx at the deadline after a 0.5 % alert: kept, not undone", RATIO_HALF_PERCENT,
     served(11, ok=496, errors=4), StepKind.ESCALATE),
    ("a memory alert the check cannot judge: clean requests alone do not verify it", MEMORY, served(6),
     StepKind.WAIT),
]


@pytest.mark.parametrize("name,alert,evidence,step", BARS, ids=[b[0] for b in BARS])
def test_healthy_is_judged_at_the_bar_of_the_alert_that_led_to_the_action(name, alert, evidence, step):
    record = rollback().model_copy(update={"alert": alert})
    judged, then = verdict(record, evidence)
    assert then.kind is step, judged.why


H, F, U, C = (Health(HealthKind.HEALTHY, "fine"), Health(HealthKind.FAILING, "503s"),
              Health(HealthKind.UNCLEAR, "no data"), Health(HealthKind.CHANGED, "put back"))

COMBINED = [
    ("one service is its own standing", [("orders", U)], "", HealthKind.UNCLEAR),
    ("all healthy", [("orders", H), ("payments", H)], "", HealthKind.HEALTHY),
    ("one still failing", [("orders", H), ("payments", F)], "", HealthKind.FAILING),
    ("one without data", [("orders", H), ("payments", U)], "", HealthKind.UNCLEAR),
    ("the connector put back outranks the rest", [("orders", F), ("payments", C)], "", HealthKind.CHANGED),
    ("healthy, with services not looked at: said", [("orders", H)], "3 managed service(s) not looked at",
     HealthKind.HEALTHY),
]


@pytest.mark.parametrize("name,judged,caveat,kind", COMBINED, ids=[c[0] for c in COMBINED])
def test_a_connector_change_stands_on_every_service_behind_it(name, judged, caveat, kind):
    combined = combine(judged, caveat)
    assert combined.kind is kind
    assert caveat in combined.why
    if len(judged) > 1 and kind is not HealthKind.HEALTHY:
        assert all(service in combined.why for service, _ in judged), combined.why


def test_a_pin_released_to_latest_since_is_a_change_even_when_the_status_names_no_revision():
    """`gcloud run services update-traffic --to-latest` after the rollback; whether a LATEST traffic
    status names its revision is not documented (docs/api-contracts.md), so the spec decides."""
    from shared.diagnosis.evidence import TrafficTarget, TrafficType

    latest = (TrafficTarget(type=TrafficType.LATEST, percent=100),)
    bundle = swept(served(6))
    bundle = bundle.model_copy(update={"incident_started_at": at(0), "service": bundle.service.model_copy(
        update={"traffic": latest, "traffic_statuses": latest})})
    health = judge(rollback(), bundle, SETTINGS)
    assert health.kind is HealthKind.CHANGED and "LATEST 100%" in health.why


def test_a_rollback_desired_but_not_served_is_said_so_not_blamed_on_someone_else():
    """A rollback whose answer was lost (in doubt): the service's spec holds its split (`traffic`: the
    old revision 100%) while what serves (`traffic_statuses`) is still the new revision, as after a
    rollout Cloud Run did not put into effect. The sweep escalated it as "a change made since by someone
    else", which the evidence does not show: the split written is desired, not served. The undo's check
    says the same."""
    from shared.diagnosis.evidence import TrafficTarget, TrafficType
    from shared.remediation.judging import undo_overtaken

    desired = (TrafficTarget(type=TrafficType.REVISION, revision=OLD, percent=100),)
    serving = (TrafficTarget(type=TrafficType.REVISION, revision=NEW, percent=100),)
    bundle = swept(served(6))
    service = bundle.service.model_copy(update={"traffic": desired, "traffic_statuses": serving})
    bundle = bundle.model_copy(update={"incident_started_at": at(0), "service": service})
    health = judge(rollback(), bundle, SETTINGS)
    assert health.kind is HealthKind.CHANGED, health.why
    assert "someone else" not in health.why, health.why
    assert f"desired (the service's traffic is {OLD} 100%) but not served (its traffic_statuses show {NEW} 100%)" \
        in health.why, health.why
    for retry in (False, True):
        overtaken = undo_overtaken(rollback(), service, retry)
        assert "not served" in overtaken and "someone else" not in overtaken, overtaken


def _service(**split: int):
    from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
    targets = tuple(TrafficTarget(type=TrafficType.REVISION, revision=r.replace("_", "-"), percent=p)
                    for r, p in split.items())
    return Service(name=SERVICE, generation=4, traffic=targets, traffic_statuses=targets)


UNDOS = [   # (name, service, retry of an unfinished undo, overtaken)
    ("as the rollback left it: the undo has not landed", _service(backend_00001_abc=100), True, False),
    ("as recorded before, on a retry: the earlier undo landed", _service(backend_00002_xyz=100), True, False),
    ("a person's split, on a retry", _service(backend_00001_abc=50, backend_00002_xyz=50), True, True),
    ("as the rollback left it, on a first attempt", _service(backend_00001_abc=100), False, False),
    # No undo was ever sent: the recorded split serving is a person's change back to it, and it stands.
    ("as recorded before, on a first attempt: a person put it back", _service(backend_00002_xyz=100), False, True),
    ("a person's split, on a first attempt", _service(backend_00001_abc=50, backend_00002_xyz=50), False, True),
]


@pytest.mark.parametrize("name,service,retry,overtaken", UNDOS, ids=[u[0] for u in UNDOS])
def test_an_undo_is_written_only_over_runwardens_own_state(name, service, retry, overtaken):
    from shared.remediation.judging import undo_overtaken
    record = rollback().model_copy(update={"before": {"traffic": [
        {"type": "REVISION", "revision": NEW, "percent": 100, "tag": ""}]}})
    assert bool(undo_overtaken(record, service, retry)) is overtaken


@pytest.mark.parametrize("ok, kind, words", [
    (40, HealthKind.HEALTHY, ""),     # as before the action (45 a minute, the incident's 5xx included)
    (23, HealthKind.HEALTHY, ""),     # 51 %: over the half a `verified` needs
    (22, HealthKind.UNCLEAR, "its traffic is down to 49% of its demand before"),    # 49 %: under it
    # 15 %: clients that gave up, or a load balancer that sent them elsewhere. Verified before (over 10 %).
    (7, HealthKind.UNCLEAR, "its traffic is down to 16% of its demand before"),
    (5, HealthKind.UNCLEAR, "its traffic is down to 11% of its demand before"),     # 11 %: verified before
    (4, HealthKind.UNCLEAR, "traffic is mostly gone"),    # 9 %: under min_traffic_ratio itself
])
def test_clean_requests_are_healthy_only_while_the_service_kept_its_own_traffic(ok, kind, words):
    """The rate since the action settled against the service's own rate in the lookback before the action,
    both per minute with requests: a `verified` needs at least half of it (judging.verified_kept); under
    min_traffic_ratio (10 %) the traffic is said gone, between the two down. Before, 10 % was the bar, and
    a rollback whose service kept 11 % or 16 % of its traffic was verified."""
    bundle = swept(served(6, ok=ok)).model_copy(update={"incident_started_at": rollback().settle_at})
    health = judge(rollback(), bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert health.kind is kind, health.why
    assert words in health.why, health.why
    assert ("under the 50% a verified needs" in health.why) is words.startswith("its traffic is down"), health.why


def _sparse(now: float, minutes_after: list[int], per_minute: float, before: float = 200) -> Evidence:
    """`before` requests a minute until the rollback (a quarter of them 5xx), then the rolled-back-to
    revision answering `per_minute` clean requests in each of `minutes_after` only: Cloud Run writes
    no point for a minute without requests."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -20, -5, before * 0.75).requests(NEW, -20, -5, before * 0.25, "500").latency(NEW, -20, -5, 0.2)
    for minute in minutes_after:
        e.requests(OLD, minute - 1, minute, per_minute).latency(OLD, minute - 1, minute, 0.1)
    return e


SPARSE = [
    # name, evidence, health
    ("25 requests in each of 2 of 5 minutes after 200 a minute: 10 a minute, 5 %", _sparse(6, [3, 5], 25),
     HealthKind.UNCLEAR),
    ("the same 50 requests spread over every minute: 10 a minute, 5 %", _sparse(6, [1, 2, 3, 4, 5], 10),
     HealthKind.UNCLEAR),
    # Over min_traffic_ratio (10 %), under the half a `verified` needs (judging.verified_kept): verified before.
    ("25 in each of 5 minutes: 12.5 %", _sparse(6, [1, 2, 3, 4, 5], 25), HealthKind.UNCLEAR),
    ("30 in each of 4 of 5 minutes: 24 a minute, 12 %", _sparse(6, [1, 2, 4, 5], 30), HealthKind.UNCLEAR),
    ("110 in each of 5 minutes: 55 %", _sparse(6, [1, 2, 3, 4, 5], 110), HealthKind.HEALTHY),
    ("125 in each of 4 of 5 minutes: 100 a minute, 50 %", _sparse(6, [1, 2, 4, 5], 125), HealthKind.HEALTHY),
    ("120 in each of 4 of 5 minutes: 96 a minute, 48 %", _sparse(6, [1, 2, 4, 5], 120), HealthKind.UNCLEAR),
]


@pytest.mark.parametrize("name,evidence,kind", SPARSE, ids=[s[0] for s in SPARSE])
def test_minutes_without_a_request_since_the_action_count_against_its_traffic(name, evidence, kind):
    """The rate since the action settled is per minute of the window judged: a minute there without a
    point is a minute nobody was answered (callers that gave up and retry now and then), not a minute
    to leave out. Per minute with requests, the first row read as 25 a minute (12.5 %) and was verified."""
    bundle = swept(evidence).model_copy(update={"incident_started_at": rollback().settle_at})
    health = judge(rollback(), bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert health.kind is kind, health.why
    assert ("traffic is mostly gone" in health.why or "traffic is down to" in health.why) is \
        (kind is HealthKind.UNCLEAR), health.why


def test_no_request_before_the_action_in_the_evidence_is_not_a_traffic_kept():
    """A sweep so late that its query starts after the action reads no rate to compare with: clean
    requests since then do not show the callers stayed. Before, nothing to compare with passed."""
    evidence = _sparse(6, [1, 2, 3, 4, 5], 25)
    evidence.req = {k: {m: v for m, v in points.items() if m > -5} for k, points in evidence.req.items()}
    bundle = swept(evidence).model_copy(update={"incident_started_at": rollback().settle_at})
    health = judge(rollback(), bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert health.kind is HealthKind.UNCLEAR and "no request read before the action" in health.why, health.why


def _called_back(after: float, *, onset_seen: bool = True, now: float = 6, rate: float = 200,
                 failing: float = 0.25, p99_after: float = 0.1, not_found: float = 0.0,
                 stops_at: float = -20, failing_after: float = 0.0, code_after: str = "500") -> Evidence:
    """200 requests a minute until the callers stopped at -20 (all of them: a client's circuit breaker open),
    none in the lookback before the rollback at -5 ((-20, -5]), then the rolled-back-to revision answering
    `after` clean requests a minute (`rate` and `failing`: the demand and the share failing, other than 200
    and a quarter). `onset_seen`: the deploy at -41 failing a quarter of them, after clean
    minutes the sweep reads (it reads request_count back to a lookback before the incident's start, -38:
    judging.reach_back); else failing since -70, before anything read. `p99_after`: the rolled-back-to
    revision's p99 since; `not_found`: the share of its answers since that are 404s; `stops_at`: the minute
    after which the callers stopped, other than -20; `failing_after`: the share of its answers since that fail
    with `code_after`."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -41 if onset_seen else -70)
    e.traffic(**{OLD.replace("-", "_"): 100})
    failing_from = -41 if onset_seen else -70
    if onset_seen:
        e.requests(OLD, -60, failing_from, rate).latency(OLD, -60, failing_from, 0.1)
    e.requests(NEW, failing_from, stops_at, rate * (1 - failing))
    e.requests(NEW, failing_from, stops_at, rate * failing, "500").latency(NEW, failing_from, stops_at, 0.2)
    if after:
        e.requests(OLD, -5, now, after * (1 - not_found - failing_after)).latency(OLD, -5, now, p99_after)
    if after and not_found:
        e.requests(OLD, -5, now, after * not_found, "404")
    if after and failing_after:
        e.requests(OLD, -5, now, after * failing_after, code_after)
    return e


CALLED_BACK = [
    # name, evidence, incident's start (minute; None: an operator's command), health, words in the reason
    ("none in the lookback, 200 a minute before the onset, 150 since: kept", _called_back(150), -38,
     HealthKind.HEALTHY, "healthy on live data"),
    ("none in the lookback, 200 a minute before the onset, 190 since: kept", _called_back(190), -38,
     HealthKind.HEALTHY, "healthy on live data"),
    ("none in the lookback, 200 a minute before the onset, 10 since: lost", _called_back(10), -38,
     HealthKind.UNCLEAR, "200 a minute in (-50, -41] before the failures began"),
    ("none in the lookback, 200 a minute before the onset, 15 since: lost", _called_back(15), -38,
     HealthKind.UNCLEAR, "before the failures began (none in the lookback before the action)"),
    ("none in the lookback, failing since before the read, 150 since: kept", _called_back(150, onset_seen=False),
     -38, HealthKind.HEALTHY, "healthy on live data"),
    ("none in the lookback, failing since before the read, 12 since: lost", _called_back(12, onset_seen=False),
     -38, HealthKind.UNCLEAR, "200 a minute in (-50, -5] earlier in the incident"),
    ("none in the lookback, 10 a minute failing 10 %, 4 clean a minute since: too few to tell from it",
     _called_back(4, rate=10, failing=0.1, onset_seen=False), -38, HealthKind.UNCLEAR,
     "too few requests to tell it from the failure before the action"),
    ("none in the lookback, 10 a minute failing 10 %, 10 clean a minute since: told from it",
     _called_back(10, rate=10, failing=0.1, onset_seen=False), -38, HealthKind.HEALTHY, "healthy on live data"),
    ("an operator's command: none in the lookback, nothing earlier read", _called_back(150), None,
     HealthKind.UNCLEAR, "none in all the minutes read before it ((-20, -5]"),
]


@pytest.mark.parametrize("name,evidence,started,kind,words", CALLED_BACK, ids=[c[0] for c in CALLED_BACK])
def test_no_request_in_the_lookback_before_the_action_compares_with_the_demand_read_earlier(
        name, evidence, started, kind, words):
    """The sweep reads request_count back to a lookback before the incident's start (judging.reach_back):
    callers that stopped altogether in the lookback before the action left their demand in the minutes
    before the onset, or in the incident's own failing minutes (request_count counts 5xx too). Before, each
    row was unclear with "cannot be told", the kept traffic of the first rows and the lost traffic of the
    others alike."""
    record = rollback().model_copy(update={
        "incident_started_at": None if started is None else int(at(started).timestamp())})
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    shown = health.why.replace(str(at(0).date()), "")
    assert health.kind is kind, health.why
    assert words in _minutes_shown(shown), health.why
    assert "cannot be told (the callers may have gone)" not in health.why, health.why


NO_BAR_IN_THE_LOOKBACK = [
    # name, evidence, incident's start (None: an operator's command), min_traffic_ratio, health, words
    ("none in the lookback, fast 500s before, p99 8 s since: slower", _called_back(150, p99_after=8.0), -38,
     TIMES.min_traffic_ratio, HealthKind.UNCLEAR, "much slower than before the action"),
    ("none in the lookback, failing since before the read, p99 12 s since: slower",
     _called_back(180, onset_seen=False, p99_after=12.0), -38, TIMES.min_traffic_ratio, HealthKind.UNCLEAR,
     "against at most 200 ms in (-50, -5] earlier in the incident"),
    ("none in the lookback, p99 0.4 s since: as fast as before", _called_back(150, p99_after=0.4), -38,
     TIMES.min_traffic_ratio, HealthKind.HEALTHY, "healthy on live data"),
    ("none in the lookback, 40 % 404 since: the mix changed", _called_back(160, not_found=0.4), -38,
     TIMES.min_traffic_ratio, HealthKind.UNCLEAR, "the mix of answers changed"),
    ("none in the lookback, failing since before the read, 25 % 404 since: the mix changed",
     _called_back(200, onset_seen=False, not_found=0.25), -38, TIMES.min_traffic_ratio, HealthKind.UNCLEAR,
     "earlier in the incident"),
    ("nothing read before, traffic check off, p99 8 s since: no bar, not verified",
     _called_back(150, p99_after=8.0), None, 0.0, HealthKind.UNCLEAR, "no latency before the action gives a bar"),
    ("nothing read before, traffic check off, 30 % 404 since: no share before, not verified",
     _called_back(150, not_found=0.3), None, 0.0, HealthKind.UNCLEAR, "no request read before the action"),
    ("nothing read before, traffic check off, p99 0.1 s and no 4xx since: nothing to doubt",
     _called_back(150), None, 0.0, HealthKind.HEALTHY, "healthy on live data"),
]


@pytest.mark.parametrize("name,evidence,started,ratio,kind,words", NO_BAR_IN_THE_LOOKBACK,
                         ids=[c[0] for c in NO_BAR_IN_THE_LOOKBACK])
def test_no_request_in_the_lookback_before_the_action_still_sets_the_latency_and_4xx_bars(
        name, evidence, started, ratio, kind, words):
    """`slower_than_before` and `client_errors_rose` read their "before" as `demand_before` reads the demand:
    the lookback before the action, or, with no request there, every minute the sweep read before it. With
    nothing read before the action at all, a p99 over the floor or a 4xx share over the bar is unknown, not
    clean. Before, with no request in the lookback, neither had a bar, and a rollback to answers 40 times
    slower, or 40 % 404s, was verified."""
    record = rollback().model_copy(update={
        "incident_started_at": None if started is None else int(at(started).timestamp())})
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    health = judge(record, bundle, SETTINGS, None, ratio)
    shown = health.why.replace(str(at(0).date()), "")
    assert health.kind is kind, health.why
    assert words in _minutes_shown(shown), health.why


NOT_IN_THE_RECENT_MINUTES = [
    # name, record, evidence, incident's start, health, step, words in the reason
    ("none in the lookback, 55 % 5xx earlier, 25 % since: better, not undone", rollback,
     _called_back(150, now=11, onset_seen=False, failing=0.55, failing_after=0.25), -38, HealthKind.UNCLEAR,
     StepKind.ESCALATE, "better than just before the action"),
    ("none in the lookback, 60 % 5xx earlier, 40 % since: better, not undone", rollback,
     _called_back(120, now=11, onset_seen=False, rate=150, failing=0.6, failing_after=0.4), -38, HealthKind.UNCLEAR,
     StepKind.ESCALATE, "earlier in the incident (none in the lookback before the action)"),
    ("none in the lookback, 55 % 5xx from the onset after clean minutes, 40 % since: better, not undone",
     rollback, _called_back(150, now=11, failing=0.55, failing_after=0.4), -38, HealthKind.UNCLEAR,
     StepKind.ESCALATE, "against 55.0% of 4200 requests in (-41, -5]"),
    ("none in the lookback, 40 % 5xx from the onset after clean minutes, 35 % since: no better, undone",
     rollback, _called_back(150, now=11, failing=0.4, failing_after=0.35), -38, HealthKind.FAILING,
     StepKind.UNDO, "still failing"),
    ("none in the lookback, 55 % 5xx earlier, 50 % since: no better, undone", rollback,
     _called_back(150, now=11, onset_seen=False, failing=0.55, failing_after=0.5), -38, HealthKind.FAILING,
     StepKind.UNDO, "still failing"),
    ("none in the lookback, 500s earlier, 30 % 429 since: the failure moved, not undone", rollback,
     _called_back(150, now=11, onset_seen=False, failing_after=0.3, code_after="429"), -38, HealthKind.UNCLEAR,
     StepKind.ESCALATE, "the failure moved"),
    ("none in the lookback, 500s earlier, 35 % 504 since: the failure moved, not undone", rollback,
     _called_back(100, now=11, onset_seen=False, rate=120, failing_after=0.35, code_after="504"), -38,
     HealthKind.UNCLEAR, StepKind.ESCALATE, "the failure moved"),
    ("none in the lookback, 500s earlier, 30 % 500 since: failing as before, undone", rollback,
     _called_back(150, now=11, onset_seen=False, failing_after=0.3), -38, HealthKind.FAILING, StepKind.UNDO,
     "still failing"),
    ("an operator's command, nothing read before, 30 % 500 since: nothing to compare, not undone", rollback,
     _called_back(150, now=11, failing_after=0.3), None, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "an undo would be a write on that doubt"),
    ("none in the lookback, 150 of 200 answered earlier, 150 clean since: load not shown carried", scale_up,
     _called_back(150, now=11), -38, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "150 answered without a 5xx or 429 in the minute to"),
    ("none in the lookback, 45 of 100 answered earlier, 40 clean since: load not shown carried", scale_up,
     _called_back(40, now=11, rate=100, failing=0.55, onset_seen=False), -38, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "in (-50, -5] earlier in the incident (none in the lookback before the action)"),
    ("none in the lookback, 150 of 200 answered earlier, 190 clean since: more than carried, verified",
     scale_up, _called_back(190, now=11), -38, HealthKind.HEALTHY, StepKind.VERIFY, "healthy on live data"),
]


@pytest.mark.parametrize("name,record,evidence,started,health,step,words", NOT_IN_THE_RECENT_MINUTES,
                         ids=[c[0] for c in NOT_IN_THE_RECENT_MINUTES])
def test_no_request_in_the_lookback_before_the_action_still_tells_better_moved_and_carried(
        name, record, evidence, started, health, step, words):
    """`helped_partly`, `failure_moved` and `load_not_carried` read their "before" as `demand_before` does
    when the minutes just before the action hold no request (`read_before`: every minute the sweep read
    before it). Before, with no request there, none of them had anything to compare with: a rollback that
    cut 55 % 5xx to 25 %, or traded 500s for 429s, was undone into the failure it ended, and a scale-up
    whose load since was one the old connector had answered was verified."""
    action = record().model_copy(update={
        "incident_started_at": None if started is None else int(at(started).timestamp())})
    judged = judge(action, swept(evidence).model_copy(update={"incident_started_at": action.settle_at}),
                   SETTINGS, None, TIMES.min_traffic_ratio)
    then = next_step(action, judged, sweep_at(evidence), TIMES)
    assert (judged.kind, then.kind) == (health, step), judged.why
    assert words in _minutes_shown(judged.why.replace(str(at(0).date()), "")), judged.why


def _trickled(evidence: Evidence, requests: float, code: str = "200", p99: float | None = None,
              minute: float = -12) -> Evidence:
    """`evidence` with `requests` more in one minute of the lookback before the rollback ((-20, -5]), ending at
    `minute`, answered `code` by the revision rolled back from (`p99`: their latency, where read): a caller's
    retry now and then, a probe, after the callers stopped at -20."""
    evidence.requests(NEW, minute - 1, minute, requests, code)
    if p99 is not None:
        evidence.latency(NEW, minute - 1, minute, p99)
    return evidence


A_FEW_IN_THE_LOOKBACK = [
    # name, record, evidence, health, step, words in the reason (the incident started at -38: the sweep reads
    # request_count from -53). min_requests is 20; the lookback before the action is (-20, -5].
    ("3 clean in the lookback, 200 a minute earlier, 12 clean since: traffic lost", rollback,
     _trickled(_called_back(12, onset_seen=False), 3), HealthKind.UNCLEAR, StepKind.WAIT,
     "a minute in (-50, -5] earlier in the incident (only 3 requests in the lookback before the action"),
    ("1 clean in the lookback, 150 a minute earlier, 14 clean since: traffic lost", rollback,
     _trickled(_called_back(14, onset_seen=False, rate=150), 1), HealthKind.UNCLEAR, StepKind.WAIT,
     "traffic is mostly gone"),
    ("19 clean in the lookback, 200 a minute earlier, 15 clean since: traffic lost", rollback,
     _trickled(_called_back(15, onset_seen=False), 19), HealthKind.UNCLEAR, StepKind.WAIT,
     "under 20 (min_requests)"),
    ("2 clean in the lookback, 10 a minute failing 10 % earlier, 4 clean a minute since: too few to tell", rollback,
     _trickled(_called_back(4, rate=10, failing=0.1, onset_seen=False), 2), HealthKind.UNCLEAR, StepKind.WAIT,
     "too few requests to tell it from the failure before the action"),
    ("3 404s in the lookback (a probe), 40 % 404 since: the mix changed", rollback,
     _trickled(_called_back(160, not_found=0.4), 3, "404"), HealthKind.UNCLEAR, StepKind.WAIT,
     "the mix of answers changed"),
    ("5 404s in the lookback, none earlier, 30 % 404 since: the mix changed", rollback,
     _trickled(_called_back(150, onset_seen=False, not_found=0.3), 5, "404"), HealthKind.UNCLEAR, StepKind.WAIT,
     "against 0.1% of 6005 in (-50, -5] earlier in the incident (only 5 requests in the lookback"),
    ("2 clean in the lookback, 23 % 404 earlier, 30 % 404 since: the mix as before, verified", rollback,
     _trickled(_called_back(150, onset_seen=False, not_found=0.3).requests(NEW, -70, -20, 60, "404"), 2),
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy on live data"),
    ("2 fast in the lookback, 2 s p99 while failing earlier, 2.5 s since: as slow as before, verified", rollback,
     _trickled(_called_back(150, onset_seen=False, p99_after=2.5).latency(NEW, -70, -20, 2.0), 2, p99=0.1),
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy on live data"),
    ("6 fast in the lookback, 0.2 s p99 while failing earlier, 3 s since: slower", rollback,
     _trickled(_called_back(150, onset_seen=False, p99_after=3.0), 6, p99=0.1), HealthKind.UNCLEAR,
     StepKind.WAIT, "against at most 200 ms in (-50, -5] earlier in the incident (only 6 requests in the lookback"),
    ("4 clean in the lookback, 150 of 200 answered earlier, 150 clean since: load not shown carried", scale_up,
     _trickled(_called_back(150, now=11), 4), HealthKind.UNCLEAR, StepKind.ESCALATE,
     "150 answered without a 5xx or 429 in the minute to"),
    ("3 clean in the lookback, 55 % 5xx earlier, 25 % since: better, not undone", rollback,
     _trickled(_called_back(150, now=11, onset_seen=False, failing=0.55, failing_after=0.25), 3),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "better than just before the action"),
    ("1 500 in the lookback, 500s earlier, 30 % 429 since: the failure moved, not undone", rollback,
     _trickled(_called_back(150, now=11, onset_seen=False, failing_after=0.3, code_after="429"), 1, "500"),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "the failure moved"),
    ("20 in the lookback failing 55 %: enough there, 25 % since: better, not undone, on the lookback", rollback,
     _trickled(_trickled(_called_back(150, now=11, onset_seen=False, failing=0.55, failing_after=0.25), 9), 11,
               "500"), HealthKind.UNCLEAR, StepKind.ESCALATE, "against 55.0% of 20 requests in (-13, -5] (at or under"),
    ("7 clean in the lookback, 500s earlier, 30 % 500 since: failing as before, undone", rollback,
     _trickled(_called_back(150, now=11, onset_seen=False, failing_after=0.3), 7), HealthKind.FAILING,
     StepKind.UNDO, "still failing"),
]


@pytest.mark.parametrize("name,record,evidence,health,step,words", A_FEW_IN_THE_LOOKBACK,
                         ids=[c[0] for c in A_FEW_IN_THE_LOOKBACK])
def test_a_few_requests_in_the_lookback_before_the_action_give_way_to_the_minutes_read_earlier(
        name, record, evidence, health, step, words):
    """`read_before` reads the lookback before the action where it holds `min_requests` requests; with fewer
    (a caller's retry now and then after the callers stopped, a probe), every minute the sweep read before
    the action where those hold `min_requests`, and the reason says so. Before, any request in the lookback
    kept it: the checks needing `min_requests` said nothing (a rollback that cut 55 % 5xx to 25 %, or traded
    500s for 429s, was undone), and the others read a few requests as the whole "before" (3 clean a minute as
    the demand, 3 404s as the share of 4xx, a few clean minutes as no failure before: verified)."""
    action = record().model_copy(update={"incident_started_at": int(at(-38).timestamp())})
    judged = judge(action, swept(evidence).model_copy(update={"incident_started_at": action.settle_at}),
                   SETTINGS, None, TIMES.min_traffic_ratio)
    then = next_step(action, judged, sweep_at(evidence), TIMES)
    assert (judged.kind, then.kind) == (health, step), judged.why
    assert words in _minutes_shown(judged.why.replace(str(at(0).date()), "")), judged.why


def _thin(after: float, trickle: float, *, code: str = "200", p99: float | None = None, earlier: float = 0,
          now: float = 11, p99_after: float = 0.1, not_found: float = 0.0, failing_after: float = 0.0) -> Evidence:
    """Too little "before" anywhere the sweep reads (the incident started at -38: request_count from -53): the
    callers stopped before -53 (an incident open long before its alert's approval), leaving `trickle`
    requests answered `code` in the minute to -12 of the lookback before the rollback at -5 (a caller's retry,
    a probe; `p99`: their latency), and `earlier` clean ones in the minute to -45; then the rolled-back-to
    revision answering `after` requests a minute (`not_found`, `failing_after`: shares of 404 and 500 since)."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -41)
    e.traffic(**{OLD.replace("-", "_"): 100})
    if earlier:
        e.requests(NEW, -46, -45, earlier).latency(NEW, -46, -45, 0.1)
    e = _trickled(e, trickle, code, p99)
    e.requests(OLD, -5, now, after * (1 - not_found - failing_after)).latency(OLD, -5, now, p99_after)
    if not_found:
        e.requests(OLD, -5, now, after * not_found, "404")
    if failing_after:
        e.requests(OLD, -5, now, after * failing_after, "500")
    return e


TOO_LITTLE_BEFORE = [
    # name, evidence, min_traffic_ratio, health, step, words in the reason. min_requests is 20.
    ("3 404s read before (a probe), 40 % 404 since: no share to compare, not verified",
     _thin(160, 3, code="404", not_found=0.4), TIMES.min_traffic_ratio, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "only 3 requests read before the action"),
    ("3 404s read before, traffic check off, 40 % 404 since: not verified either",
     _thin(160, 3, code="404", not_found=0.4), 0.0, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "whether failures turned into client errors cannot be told"),
    ("2 requests at 10 s read before, traffic check off, p99 8 s since: no latency bar, not verified",
     _thin(150, 2, p99=10.0, p99_after=8.0), 0.0, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "only 2 requests read before the action"),
    ("4 clean read before, 25 clean a minute since: no demand to compare, not verified",
     _thin(25, 4), TIMES.min_traffic_ratio, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "too few to stand for what it served before"),
    ("3 in the lookback and 16 earlier (19 read before), 150 clean since: not verified",
     _thin(150, 3, earlier=16), TIMES.min_traffic_ratio, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "only 19 requests read before the action"),
    ("5 500s read before, 30 % 500 since: worse or better than before cannot be told, not undone",
     _thin(150, 5, code="500", failing_after=0.3), TIMES.min_traffic_ratio, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "an undo would be a write on that doubt"),
    ("1 500 read before, 60 % 500 since: not undone",
     _thin(150, 1, code="500", failing_after=0.6), TIMES.min_traffic_ratio, HealthKind.UNCLEAR, StepKind.ESCALATE,
     "only 1 request read before the action"),
    ("control: 20 clean in the lookback, 150 clean since: verified", _thin(150, 20), TIMES.min_traffic_ratio,
     HealthKind.HEALTHY, StepKind.VERIFY, "healthy on live data"),
    ("control: 5 in the lookback and 15 earlier (20 read before), 150 clean since: verified",
     _thin(150, 5, earlier=15), TIMES.min_traffic_ratio, HealthKind.HEALTHY, StepKind.VERIFY, "healthy on live data"),
    ("control: 20 in the lookback, 8 of them 500s, 35 % 500 since: failing as before, undone",
     _trickled(_thin(150, 12, failing_after=0.35), 8, "500", minute=-10), TIMES.min_traffic_ratio,
     HealthKind.FAILING, StepKind.UNDO, "still failing"),
]


@pytest.mark.parametrize("name,evidence,ratio,health,step,words", TOO_LITTLE_BEFORE,
                         ids=[c[0] for c in TOO_LITTLE_BEFORE])
def test_too_little_before_the_action_anywhere_read_is_said_so_never_verified_or_undone_on(
        name, evidence, ratio, health, step, words):
    """Where every minute the sweep read before the action holds fewer than `min_requests` requests (the
    lookback's few, and the earlier minutes' few), there is no "before" to compare with (`read_before` is
    None, `before_unknown` says why): the share of 4xx, the latency bar and the demand are not read off a
    handful of requests, clean requests since are judged at the absolute bars alone (the bar's share of
    failures, `_SLOW_FLOOR_SECONDS`) and not verified while the demand is unknown, and a service failing
    since is escalated, not undone: whether the rollback made it worse than before cannot be told. Before,
    the lookback's few stood as the "before": 3 404s of a probe made 40 % 404s since no rise, 2 slow
    requests made 8 s answers no slower, 4 requests were the demand 25 a minute kept, and a rollback was
    undone against 5 500s."""
    action = rollback().model_copy(update={"incident_started_at": int(at(-38).timestamp())})
    judged = judge(action, swept(evidence).model_copy(update={"incident_started_at": action.settle_at}),
                   SETTINGS, None, ratio)
    then = next_step(action, judged, sweep_at(evidence), TIMES)
    assert (judged.kind, then.kind) == (health, step), judged.why
    assert words in _minutes_shown(judged.why.replace(str(at(0).date()), "")) + then.why, judged.why


THIRD = "backend-00003-new"


def _someone_deployed(now: float, *, failing: bool = False) -> Evidence:
    """After the rollback to OLD, someone deploys a third revision at +2 that takes all the traffic."""
    e = served(now, until=2, split={THIRD: 100}).revision(THIRD, 2)
    e.requests(THIRD, 2, now, 20 if failing else 40).latency(THIRD, 2, now, 0.1)
    if failing:
        e.requests(THIRD, 2, now, 20, "500")
    return e


def _trade(now: float = 11) -> Evidence:
    """Before the rollback: the new revision failing 55 % with a p99 of 30 s (hanging at a client's
    timeout); since: the revision rolled back to answering fast (0.1 s) but failing 70 % with 500s."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20).traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -5, 20).requests(NEW, -30, -5, 25, "500").latency(NEW, -30, -5, 30.0)
    e.requests(OLD, -5, now, 12).requests(OLD, -5, now, 28, "500").latency(OLD, -5, now, 0.1)
    return e


def _partial(now: float, *, whole_failing: bool) -> tuple[Evidence, float]:
    """The newest minute to `now` holds one series only (each series arrives on its own, up to ~180 s
    after its minute: facts.INGEST_LAG), read 30 s after it: its 200s alone after failing minutes, or its
    500s alone after clean ones. Returns the evidence and when the sweep reads it (minutes from T0)."""
    e = served(now, ok=20 if whole_failing else 40)
    if whole_failing:
        e.requests(OLD, -5, now - 1, 20, "500")
    else:
        e = served(now, ok=40, until=now - 1).requests(OLD, now - 1, now, 5, "500")
    return e, now + 0.5


RED_TEAM = [
    # name, record, evidence, health, steps it must not be, words in the reason
    ("traffic vanished a minute after the rollback: not healthy", rollback, served(11, until=1),
     HealthKind.UNCLEAR, (StepKind.VERIFY, StepKind.UNDO), "or the service has had no requests since"),
    ("no request at all since the rollback: not healthy, not undone", rollback, served(11, ok=0),
     HealthKind.UNCLEAR, (StepKind.VERIFY, StepKind.UNDO), "not undone"),
    ("someone deployed a third revision that takes the traffic, clean: changed", rollback, _someone_deployed(6),
     HealthKind.CHANGED, (StepKind.VERIFY, StepKind.UNDO), "no longer serves as the rollback left it"),
    ("someone deployed a third revision that takes the traffic, failing: changed, not undone", rollback,
     _someone_deployed(11, failing=True), HealthKind.CHANGED, (StepKind.VERIFY, StepKind.UNDO), "nothing written"),
    ("5xx fell only because requests fell: 3 clean a minute of 45", rollback, served(11, ok=3), HealthKind.UNCLEAR,
     (StepKind.VERIFY, StepKind.UNDO), "too little traffic"),
    ("5xx count fell with the requests, the share as before on 5 a minute: not undone", rollback,
     served(11, ok=3, errors=2), HealthKind.UNCLEAR, (StepKind.VERIFY, StepKind.UNDO), "not undone"),
    ("fast since but 70 % 500 against 55 % hanging before: failing, a trade (undone, as helped_partly says)",
     rollback, _trade(), HealthKind.FAILING, (StepKind.VERIFY, StepKind.ESCALATE), "still failing"),
    ("the old revision fails too (the deploy was not the cause): failing, undone, said so", rollback,
     served(11, ok=20, errors=20), HealthKind.FAILING, (StepKind.VERIFY, StepKind.ESCALATE), "still failing"),
    ("the connector's update still running at the deadline: escalated, never verified", scale_up,
     served(11).connector("e2-micro", 2, 3, state="UPDATING"), HealthKind.UNCLEAR, (StepKind.VERIFY, StepKind.UNDO),
     "still being updated"),
    ("the connector deleted since: changed, not verified on its services' clean requests", scale_up,
     served(6), None, (StepKind.VERIFY, StepKind.UNDO), ""),
]


@pytest.mark.parametrize("name,record,evidence,health,never,words", RED_TEAM, ids=[c[0] for c in RED_TEAM])
def test_thin_or_odd_traffic_after_an_action_never_makes_a_wrong_verdict(name, record, evidence, health, never,
                                                                         words):
    """What a sweep meets after an action on a real service: traffic that vanished, someone else's deploy,
    5xx that fell only with the requests, a trade of hangs for 500s, a revision rolled back to that fails
    too, a connector still updating. None is verified, and none is undone unless the service fails as
    before. (The connector deleted since is read by name in the sweep: judging.connector_gone.)"""
    action = record()
    if health is None:      # the sweep's own read of a deleted connector (verification._connector_gone)
        from shared.remediation.judging import connector_gone
        judged = connector_gone(action, "404 Connector not found")
        health = HealthKind.CHANGED
    else:
        judged, _ = verdict(action, evidence)
    then = next_step(action, judged, sweep_at(evidence), TIMES)
    assert judged.kind is health and then.kind not in never, (judged.why, then.why)
    assert words in judged.why + then.why, (judged.why, then.why)


@pytest.mark.parametrize("whole_failing", [True, False], ids=["failing, 200s alone newest", "clean, 500s alone newest"])
def test_a_partial_newest_minute_never_makes_the_verdict(whole_failing):
    """The newest minute, read 30 s after it ended, holds one series only. The whole minutes decide; the
    partial one can only unmake a verdict: failing minutes with a late 500 series are still failing, and
    clean minutes with the 500s alone visible in the newest are not verified."""
    evidence, read_at = _partial(12, whole_failing=whole_failing)
    action = rollback()
    bundle = evidence.bundle().model_copy(update={"collected_at": at(read_at), "incident_started_at": action.settle_at,
                                                  "request_lines": evidence.request_log(-6)})
    judged = judge(action, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    then = next_step(action, judged, at(read_at), TIMES)
    if whole_failing:
        assert (judged.kind, then.kind) == (HealthKind.FAILING, StepKind.UNDO), judged.why
    else:
        assert judged.kind is HealthKind.UNCLEAR and then.kind is not StepKind.VERIFY, judged.why
        assert "show failures already" in judged.why, judged.why


def _minutes_shown(why: str) -> str:
    """`why` with each time of day written as minutes from T0, as the rows name them."""
    import re
    from tests.unit.builders import T0

    def minute(match: re.Match) -> str:
        h, m, sec = (int(x) for x in match.group(0).split(":"))
        delta = (h * 3600 + m * 60 + sec) - (T0.hour * 3600 + T0.minute * 60 + T0.second)
        return f"{delta / 60:g}"
    return re.sub(r"\b\d\d:\d\d:\d\d\b", minute, why)


def _relapse(clean_until: float, failing_from: float, *, now: float = 11, p99_after: float = 0.12,
             code: str = "503") -> Evidence:
    """The rolled-back-to revision serving 40 clean requests a minute from the rollback (-5), then from
    `failing_from` answering 40 more a minute with `code` (or, with p99_after, hanging)."""
    e = served(now, ok=40, until=clean_until)
    if failing_from < now:
        if code:
            e.requests(OLD, failing_from, now, 40).requests(OLD, failing_from, now, 40, code)
        else:
            e.requests(OLD, failing_from, now, 40)
        e.latency(OLD, failing_from, now, p99_after)
    return e


RELAPSES = [
    # name, evidence, health, step
    ("clean for 5 minutes after the rollback, then 50 % 503 from +1: not undone",
     _relapse(1, 1), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("clean for 2 minutes after the rollback, then 50 % 503: not undone",
     _relapse(-2, -2), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("clean for the 2 minutes after settling, then hanging at the client timeout: not undone",
     _relapse(2, 2, p99_after=30.0, code=""), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("one clean minute only, then 50 % 503: still the rollback's failing",
     _relapse(-3, -3), HealthKind.FAILING, StepKind.UNDO),
    ("failing from the rollback on: undone, as before",
     served(11, ok=20, errors=20), HealthKind.FAILING, StepKind.UNDO),
]


@pytest.mark.parametrize("name,evidence,health,step", RELAPSES, ids=[r[0] for r in RELAPSES])
def test_a_failure_that_began_after_the_action_worked_is_not_undone(name, evidence, health, step):
    """A rollback whose revision served cleanly for minutes, then failed again: the failure began after
    the fix worked (another deploy, a person's change, a dependency), and undoing it sends the traffic
    back to the revision that failed first. Before, the window judged at the deadline was all the sweep
    read: 50 % 503 there was `failing`, and the rollback was undone."""
    judged, then = verdict(rollback(), evidence)
    assert (judged.kind, then.kind) == (health, step), judged.why
    assert ("recovered after the action first" in judged.why) is (health is HealthKind.UNCLEAR), judged.why


MEAN_LATENCY_1S = _alert("run.googleapis.com/request_latencies", 1000, aligner="ALIGN_MEAN")
CLIENT_ERRORS = _alert("run.googleapis.com/request_count", 0.1, ratio=True, metric_labels={"response_code_class": "4xx"})
# A p99 latency alert on 2xx alone (request_latencies' response_code_class): fast 503s hold the p99 of all
# requests under its bar while the 2xx it measures stay slow.
LATENCY_2XX_2S = _alert("run.googleapis.com/request_latencies", 2000,
                        condition_filter='metric.type="run.googleapis.com/request_latencies" AND '
                                         'metric.label.response_code_class="2xx"')
LOG_MATCH = AlertContext(policy="p", resource_type="cloud_run_revision", condition_kind="log_match",
                         log_filter='textPayload:"connection refused"')

# What a CLOSED showed of recovery (Incident.recovery_shown), as the documented closed notification shows it.
SHOWN = "Monitoring closed it with a value of 0.52, below the condition's bar of 0.8 (COMPARISON_GT)"

UNREAD = [
    # name, the action's alert, evidence, CLOSED at (minute) and what it showed, health, step
    ("p99 12 s after a mean-latency alert at 1 s: not verified", MEAN_LATENCY_1S, served(6, p99=12.0), None,
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("the same at the deadline: escalated, kept", MEAN_LATENCY_1S, served(11, p99=12.0), None,
     HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("40 % 404 after a 4xx-ratio alert: not verified", CLIENT_ERRORS,
     served(6, ok=30).requests(OLD, -5, 6, 20, "404"), None, HealthKind.UNCLEAR, StepKind.WAIT),
    ("a log-match alert, requests clean: not verified", LOG_MATCH, served(6), None, HealthKind.UNCLEAR,
     StepKind.WAIT),
    ("a memory alert whose incident closed after the action, requests clean and kept: verified", MEMORY,
     served(6), (3, SHOWN), HealthKind.HEALTHY, StepKind.VERIFY),
    ("a mean-latency alert closed after the action, p99 0.3 s: verified", MEAN_LATENCY_1S, served(6, p99=0.3),
     (4, SHOWN), HealthKind.HEALTHY, StepKind.VERIFY),
    ("closed, but most of the traffic gone: not verified", MEMORY, _sparse(6, [1, 2, 3, 4, 5], 10), (3, SHOWN),
     HealthKind.UNCLEAR, StepKind.WAIT),
    # A snooze on the policy, data that stopped, a close by hand: closed, with nothing showing the condition
    # cleared. Before, the closing alone verified the action.
    ("a memory alert closed with no value on the clear side (a snooze): not verified", MEMORY, served(6), (3, ""),
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("the same at the deadline: escalated, kept", MEMORY, served(11), (3, ""), HealthKind.UNCLEAR,
     StepKind.ESCALATE),
    ("a mean-latency alert closed with nothing shown: not verified", MEAN_LATENCY_1S, served(6, p99=0.3), (4, ""),
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("p99 of all 0.3 s after a 2xx-latency alert at 2 s: not verified", LATENCY_2XX_2S, served(6, p99=0.3), None,
     HealthKind.UNCLEAR, StepKind.WAIT),
    ("a 2xx-latency alert closed after the action with its value under the bar: verified", LATENCY_2XX_2S,
     served(6, p99=0.3), (4, SHOWN), HealthKind.HEALTHY, StepKind.VERIFY),
    ("no alert kept (an operator's command): the defaults, as before", None, served(6, p99=0.5), None,
     HealthKind.HEALTHY, StepKind.VERIFY),
]


@pytest.mark.parametrize("name,alert,evidence,closed,health,step", UNREAD, ids=[u[0] for u in UNREAD])
def test_an_alert_whose_condition_the_check_does_not_read_is_not_verified_by_clean_requests_alone(
        name, alert, evidence, closed, health, step):
    """The alert that led to the action measures what the health check does not read (a mean latency,
    4xx, a log match, memory): clean requests at the settings' defaults do not show its condition
    cleared. Before, each of the first four was `verified` (p99 12 s against a 25 s default bar; 404s not
    read at all). Monitoring's own CLOSED since the action, with the requests still coming, does, when it
    shows the condition's value on the clear side of its bar; a closing alone (a snooze, data that stopped,
    a close by hand) does not."""
    record = rollback().model_copy(update={"alert": alert})
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    minute, shown = closed if closed is not None else (None, "")
    judged = judge(record, bundle, SETTINGS, at(minute) if minute is not None else None, TIMES.min_traffic_ratio,
                   shown)
    then = next_step(record, judged, sweep_at(evidence), TIMES)
    assert (judged.kind, then.kind) == (health, step), judged.why


PARTLY = [
    # name, evidence (before the rollback: 20 ok and 25 5xx a minute, 55.6 %), health, step
    ("55.6 % 5xx before, 25 % since: better, not undone", served(11, ok=30, errors=10), HealthKind.UNCLEAR,
     StepKind.ESCALATE),
    ("55.6 % before, 40 % since (72 % of it): not undone", served(11, ok=24, errors=16), HealthKind.UNCLEAR,
     StepKind.ESCALATE),
    ("55.6 % before, 50 % since: no better, undone", served(11, ok=20, errors=20), HealthKind.FAILING,
     StepKind.UNDO),
    ("55.6 % before, 75 % since: worse, undone", served(11, ok=10, errors=30), HealthKind.FAILING, StepKind.UNDO),
    ("fewer 5xx since, but hanging where it did not: undone", served(11, ok=30, errors=10, p99=30.0),
     HealthKind.FAILING, StepKind.UNDO),
]


@pytest.mark.parametrize("name,evidence,health,step", PARTLY, ids=[p[0] for p in PARTLY])
def test_a_rollback_that_cut_the_failures_is_not_undone_into_the_worse_failure(name, evidence, health, step):
    """An undo puts back the split from before the rollback, and with it the failure it had. A rollback
    that cut 55.6 % 5xx to 25 % still failed `bad_error_ratio` (20 %) and was undone: the service went
    back to 55.6 %. A share at or under three quarters of the one just before the action is better:
    escalated, kept."""
    judged, then = verdict(rollback(), evidence)
    assert (judged.kind, then.kind) == (health, step), judged.why
    assert ("better than just before the action" in judged.why) is (health is HealthKind.UNCLEAR), judged.why


@pytest.mark.parametrize("generation_after, kind, step", [
    (3, HealthKind.FAILING, StepKind.UNDO),      # as the rollback left it (the evidence's service is at 3)
    (2, HealthKind.UNCLEAR, StepKind.ESCALATE),  # one change since: a deploy, a service-level setting
    (None, HealthKind.FAILING, StepKind.UNDO),   # an earlier record without the generation: not known
])
def test_a_failing_service_someone_changed_since_the_rollback_is_not_undone(generation_after, kind, step):
    """The service's generation moves with every change of its desired state: a deploy (pinned, its
    revision serves nothing, but someone is at work on it), a service-level max instances, ingress. A
    failure after such a change is not shown to be the rollback's, and an undo would write over it.
    Before, the traffic split was all the sweep compared: it undid the rollback."""
    record = rollback().model_copy(update={"after": {} if generation_after is None else {
        "generation": generation_after, "traffic": [{"revision": OLD, "percent": 100}]}})
    judged, then = verdict(record, served(11, ok=20, errors=20))
    assert (judged.kind, then.kind) == (kind, step), judged.why
    assert ("was changed since the rollback" in judged.why) is (kind is HealthKind.UNCLEAR), judged.why


CONNECTOR_CPU = AlertContext(policy="connector cpu", metric_type="vpcaccess.googleapis.com/connector/cpu/utilizations",
                             resource_type="vpc_access_connector", comparison="COMPARISON_GT", threshold=0.7,
                             condition_kind="threshold")


@pytest.mark.parametrize("closed, shown, kind", [
    (None, "", HealthKind.UNCLEAR),
    (4, "", HealthKind.UNCLEAR),   # closed by a snooze on the policy, with the connector still at 97 %
    (4, "Monitoring closed it with a value of 0.41, below the condition's bar of 0.7 (COMPARISON_GT)",
     HealthKind.HEALTHY),
])
def test_a_scale_up_after_a_connector_alert_is_verified_only_once_that_alert_closed(closed, shown, kind):
    """The policy pages on the connector's CPU over 70 %; after the scale-up its users serve cleanly while
    the connector stays at 97 %. Before, that was `verified` on the users' requests alone, and then on
    any CLOSED of the incident, a snooze's included."""
    record = scale_up().model_copy(update={"alert": CONNECTOR_CPU})
    evidence = served(6).connector("e2-standard-4", 2, 4).connector_metric("cpu", -5, 6, 0.97)
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    judged = judge(record, bundle, SETTINGS, at(closed) if closed is not None else None, TIMES.min_traffic_ratio,
                   shown)
    assert judged.kind is kind, judged.why
    assert ("the connector itself" in judged.why) is (kind is HealthKind.UNCLEAR), judged.why


def _pin(mark_at: float = -1, pinned: bool = True, action_id: str = "i|s|rollback_traffic", marked: bool = True,
         **split: int):
    from shared.remediation.records import PinRecord, RestoreMark
    traffic = [{"type": "LATEST" if r == "LATEST" else "REVISION", "revision": None if r == "LATEST" else
                r.replace("_", "-"), "percent": p, "tag": ""} for r, p in (split or {"LATEST": 100}).items()]
    mark = RestoreMark(command_id="rs-1", requested_by="alice@example.com", traffic=traffic, at=at(mark_at))
    return PinRecord(service=SERVICE, revision=OLD, action_id=action_id, pinned_at=at(-5), pinned=pinned,
                     restoring=mark if marked else None)


def _serving(**split: int):
    from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType
    targets = tuple(TrafficTarget(type=TrafficType.LATEST, percent=p) if r == "LATEST" else
                    TrafficTarget(type=TrafficType.REVISION, revision=r.replace("_", "-"), percent=p)
                    for r, p in split.items())
    return Service(name=SERVICE, generation=5, traffic=targets, traffic_statuses=targets)


def _asked_not_served(asked: dict[str, int], serving: dict[str, int]):
    """A restore whose operation failed with its split left desired: asked for, not serving (Cloud Run keeps
    serving what it served: Service.traffic against traffic_statuses)."""
    return _serving(**asked).model_copy(update={"traffic_statuses": _serving(**serving).traffic_statuses})


OWN_RESTORES = [   # (name, pin, service now, Runwarden's own restore)
    ("serves the restore's split to latest", _pin(), _serving(LATEST=100), True),
    ("serves the restore's recorded split", _pin(backend_00002_xyz=100), _serving(backend_00002_xyz=100), True),
    ("a tag at 0% beside it: the same shares", _pin(), _serving(LATEST=100, backend_00001_abc=0), True),
    ("a person's split after the restore", _pin(), _serving(backend_00001_abc=50, backend_00002_xyz=50), False),
    ("no restore noted", _pin(marked=False), _serving(LATEST=100), False),
    ("the pin released already", _pin(pinned=False), _serving(LATEST=100), False),
    ("the pin of another rollback", _pin(action_id="j|s|rollback_traffic"), _serving(LATEST=100), False),
    ("a restore noted before this rollback", _pin(mark_at=-6), _serving(LATEST=100), False),
    ("the restore's split asked for, the rollback's still serving (its operation failed)",
     _pin(backend_00002_xyz=100), _asked_not_served({"backend_00002_xyz": 100}, {"backend_00001_abc": 100}), False),
]


@pytest.mark.parametrize("name,pin,service,own", OWN_RESTORES, ids=[c[0] for c in OWN_RESTORES])
def test_a_rollback_moved_by_runwardens_own_unrecorded_restore_is_told_from_a_persons_change(name, pin, service, own):
    from shared.remediation.judging import restored_by_runwarden
    note = restored_by_runwarden(rollback(), pin, service)
    assert bool(note) is own, note
    if own:
        assert "alice@example.com" in note and "rs-1" in note, note


def _by(principal: str, minute: float, resource: str = SERVICE, status: int | None = None, op: str = ""):
    from shared.diagnosis.evidence import LogRecord
    return LogRecord(timestamp=at(minute), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                     text="UpdateService", method_name="google.cloud.run.v2.Services.UpdateService",
                     resource_name=resource, principal=principal, status_code=status, operation_id=op)


RUNWARDEN = "runwarden@demo.iam.gserviceaccount.com"
OWN = DiagnosisSettings(self_principals=(RUNWARDEN,))


def _with_audit(evidence: Evidence, *entries) -> EvidenceBundle:
    from shared.diagnosis.evidence import LogResult
    bundle = swept(evidence)
    service = tuple(e for e in entries if "/connectors/" not in e.resource_name)
    connector = tuple(e for e in entries if "/connectors/" in e.resource_name)
    return bundle.model_copy(update={"audit": LogResult(query="audit", entries=service),
                                     "connector_audit": LogResult(query="audit", entries=connector)})


def _deployed_fix() -> Evidence:
    """The service recovered after the scale-up, on a revision a person deployed at +1 (same connector)."""
    fix = "backend-00003-fix"
    e = Evidence(now=8).revision(OLD, -180).revision(NEW, -20).revision(fix, 1)
    e.traffic(**{fix.replace("-", "_"): 100})
    e.requests(NEW, -30, 1, 20).requests(NEW, -30, 1, 25, "503").latency(NEW, -30, 1, 0.12)
    return e.requests(fix, 1, 8, 45).latency(fix, 1, 8, 0.12).connector("e2-standard-4", 2, 4)


CONCURRENT = [
    # name, record, bundle, health, words
    ("a scale-up, its services recovered, nobody else at work: verified", scale_up(),
     _with_audit(served(6).connector("e2-standard-4", 2, 4)), HealthKind.HEALTHY, "healthy"),
    ("a scale-up whose recovery came with a person's deploy serving since: not verified", scale_up(),
     _with_audit(_deployed_fix()), HealthKind.UNCLEAR, "a revision deployed after the action serves now"),
    ("a scale-up, then a person's change of the service (audit) since: not verified", scale_up(),
     _with_audit(served(6).connector("e2-standard-4", 2, 4), _by("alice@example.com", 1)), HealthKind.UNCLEAR,
     "alice@example.com"),
    ("a rollback, then a person's change of the connector (audit) since: not verified", rollback(),
     _with_audit(served(6), _by("alice@example.com", 2, CONNECTOR)), HealthKind.UNCLEAR, "backend-conn by alice"),
    ("Runwarden's own change since (self_principals): verified", scale_up(),
     _with_audit(served(6).connector("e2-standard-4", 2, 4), _by(RUNWARDEN, 1, CONNECTOR)), HealthKind.HEALTHY, ""),
    ("a person's change refused (status PERMISSION_DENIED): nothing changed, verified", scale_up(),
     _with_audit(served(6).connector("e2-standard-4", 2, 4), _by("alice@example.com", 1, status=7)),
     HealthKind.HEALTHY, ""),
    ("a person's change more than the clock-skew allowance before the action: the diagnosis's business, verified",
     scale_up(), _with_audit(served(6).connector("e2-standard-4", 2, 4), _by("alice@example.com", -11)),
     HealthKind.HEALTHY, ""),
    ("a person's change a minute before the action, within the clock-skew allowance: not verified", scale_up(),
     _with_audit(served(6).connector("e2-standard-4", 2, 4), _by("alice@example.com", -6)), HealthKind.UNCLEAR,
     "the action's time, 11:55:00 (this instance's clock"),
    ("a rollback whose service changed since (its generation): not verified",
     rollback().model_copy(update={"after": {"generation": 2}}), _with_audit(served(6)), HealthKind.UNCLEAR,
     "was changed since the rollback"),
    ("a rollback whose service is at the generation it left: verified",
     rollback().model_copy(update={"after": {"generation": 3}}), _with_audit(served(6)), HealthKind.HEALTHY, ""),
]


@pytest.mark.parametrize("name,record,bundle,kind,words", CONCURRENT, ids=[c[0] for c in CONCURRENT])
def test_a_recovery_someone_else_may_have_made_is_not_credited_to_the_action(name, record, bundle, kind, words):
    """A person's deploy (or another change of the service or its connector) during the verification that
    serves cleanly: the recovery may be theirs. Before, the sweep verified the action on the clean requests
    alone (a connector scale-up after which a person deployed a fix was `verified`)."""
    bundle = bundle.model_copy(update={"incident_started_at": record.settle_at})
    judged = judge(record, bundle, OWN, None, TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why


TAGGED = [
    # name, evidence, health, words
    ("the rolled-back-to revision clean, a tag URL clean too: verified",
     served(6).tag(NEW, "candidate").requests(NEW, -5, 6, 400).latency(NEW, -5, 6, 0.1), HealthKind.HEALTHY, ""),
    ("the rolled-back-to revision failing half its requests, a tag URL's load test clean: not verified",
     served(6, ok=20, errors=20).tag(NEW, "candidate").requests(NEW, -5, 6, 4000).latency(NEW, -5, 6, 0.1),
     HealthKind.UNCLEAR, "fail on their own requests"),
    ("the rolled-back-to revision hanging, a tag URL clean and fast: not verified",
     served(6, p99=20.0).tag(NEW, "candidate").requests(NEW, -5, 6, 4000).latency(NEW, -5, 6, 0.1),
     HealthKind.UNCLEAR, "p99 max 20.0 s"),
    ("the rolled-back-to revision answering 2 requests, a tag URL 400: not verified",
     served(6, ok=0).requests(OLD, 4, 6, 1).latency(OLD, 4, 6, 0.1).tag(NEW, "candidate")
     .requests(NEW, -5, 6, 400).latency(NEW, -5, 6, 0.1), HealthKind.UNCLEAR, "traffic is mostly gone"),
    ("the callers mostly gone (4 a minute after 45), a tag URL's load test clean: not verified",
     served(6, ok=4).tag(NEW, "candidate").requests(NEW, -5, 6, 4000).latency(NEW, -5, 6, 0.1), HealthKind.UNCLEAR,
     "traffic is mostly gone"),
    ("a tag URL failing while the rolled-back-to revision serves cleanly: not verified either (the service's share)",
     served(6).tag(NEW, "candidate").requests(NEW, -5, 6, 20, "500"), HealthKind.UNCLEAR, ""),
]


@pytest.mark.parametrize("name,evidence,kind,words", TAGGED, ids=[t[0] for t in TAGGED])
def test_a_tag_urls_requests_do_not_stand_for_the_services_callers(name, evidence, kind, words):
    """A tag at 0% has its own URL, and its requests are counted under its own revision: a load test on a
    tagged revision made a rollback whose revision failed half its requests read 0.5 % 5xx, `verified`."""
    bundle = swept(evidence).model_copy(update={"incident_started_at": rollback().settle_at})
    judged = judge(rollback(), bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why


def _without_revision_label(evidence: Evidence, revision: str) -> EvidenceBundle:
    """The evidence with `revision`'s request_count series carrying no revision_name label."""
    bundle = swept(evidence)
    series = tuple(s.model_copy(update={"resource_labels": {}}) if s.resource_labels.get("revision_name") == revision
                   else s for s in bundle.requests.series)
    return bundle.model_copy(update={"requests": bundle.requests.model_copy(update={"series": series})})


SHAPES = [
    # name, bundle as the sweep reads it, health, step: shapes of Monitoring's answers, never a wrong verdict
    ("a very quiet service (1 request a minute), clean: too few to judge", swept(served(11, ok=1)),
     HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("a very quiet service, its 1 request a minute failing: too few to undo on", swept(served(11, ok=0, errors=1)),
     HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("scaled to zero since +2 (no request_count point for a minute without requests)", swept(served(11, until=2)),
     HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("the revision label absent from the rolled-back-to revision's series, clean: whose is not known",
     _without_revision_label(served(6), OLD), HealthKind.UNCLEAR, StepKind.WAIT),
    ("the revision label absent, failing: not shown to be the rollback's own, no undo",
     _without_revision_label(served(11, ok=20, errors=20), OLD), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("request_latencies not read (a read refused, bucket options Monitoring would not merge): never healthy",
     swept(served(6).missing("latencies")), HealthKind.UNCLEAR, StepKind.WAIT),
    ("request_latencies not read, 50 % 5xx at the deadline: the 5xx share alone still shows it failing",
     swept(served(11, ok=20, errors=20).missing("latencies")), HealthKind.FAILING, StepKind.UNDO),
]


@pytest.mark.parametrize("name,bundle,kind,step", SHAPES, ids=[s[0] for s in SHAPES])
def test_shapes_of_monitorings_answers_never_make_a_wrong_verdict(name, bundle, kind, step):
    record = rollback()
    bundle = bundle.model_copy(update={"incident_started_at": record.settle_at})
    judged = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    then = next_step(record, judged, bundle.collected_at, TIMES)
    assert (judged.kind, then.kind) == (kind, step), judged.why


def _quiet(now: float, *, per_minute: float, failing_before: float, failing_since: float = 0.0) -> Evidence:
    """A quiet service: `per_minute` requests a minute before and since the rollback, `failing_before` of
    them 5xx until it (the lookback's minutes), `failing_since` after it. Cloud Run counts whole
    requests: a share of a request a minute stands for one request every few minutes."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -20, -5, per_minute * (1 - failing_before)).requests(NEW, -20, -5, per_minute * failing_before,
                                                                         "500").latency(NEW, -20, -5, 0.2)
    e.requests(OLD, -5, now, per_minute * (1 - failing_since)).latency(OLD, -5, now, 0.1)
    if failing_since:
        e.requests(OLD, -5, now, per_minute * failing_since, "500")
    return e


FEW_TO_TELL = [
    # name, evidence, health, step at the sweep (its deadline a minute before: the verdict it leads to)
    ("4 a minute, 10 % failing before, 20 clean in the 5 minutes since: seen 12 % of the time if it still failed so",
     _quiet(5, per_minute=4, failing_before=0.1), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("8 a minute, 10 % failing before, 40 clean since: the failure would have shown",
     _quiet(5, per_minute=8, failing_before=0.1), HealthKind.HEALTHY, StepKind.VERIFY),
    ("4 a minute, 55 % failing before, 20 clean since: the failure would have shown",
     _quiet(10, per_minute=4, failing_before=0.55), HealthKind.HEALTHY, StepKind.VERIFY),
    ("100 a minute, 2 % failing before, 0.5 % since: 0.5 % and 2 % told apart on 500 requests",
     _quiet(10, per_minute=100, failing_before=0.02, failing_since=0.005), HealthKind.HEALTHY, StepKind.VERIFY),
    ("5 a minute, 2 % failing before, none since on 50: not told apart from 2 %",
     _quiet(10, per_minute=5, failing_before=0.02), HealthKind.UNCLEAR, StepKind.ESCALATE),
    ("20 a minute, 2 % failing before, none since: 200 requests since the settle time, not the last 100 alone",
     _quiet(10, per_minute=20, failing_before=0.02), HealthKind.HEALTHY, StepKind.VERIFY),
]


@pytest.mark.parametrize("name,evidence,kind,step", FEW_TO_TELL, ids=[s[0] for s in FEW_TO_TELL])
def test_clean_requests_too_few_to_tell_from_the_failure_before_are_not_healthy(name, evidence, kind, step):
    """`healthy` needs enough requests since the action that the failure seen just before it, had it
    stayed, would have shown: a service failing 10 % of 4 requests a minute answers 20 requests with no
    failure 12 % of the time (0.9 ** 20), and its rollback to a revision with the same fault was verified."""
    record = rollback().model_copy(update={"settle_at": at(0), "deadline_at": at(evidence.now - 1)})
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at})
    health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert health.kind is kind, health.why
    assert ("too few requests" in health.why) is (kind is HealthKind.UNCLEAR), health.why
    assert next_step(record, health, sweep_at(evidence), TIMES).kind is step


# A Monitoring outage while an action waits to be judged (judging.unread_notice_due): times as above,
# so the verification period is 10 min and half of it 5 min; the escalation past the deadline is at +20.
@pytest.mark.parametrize("since, told, escalated, now, due, why", [
    (None, None, None, 8, False, "no failed read in a row noted"),
    (0, None, None, 4, False, "a run of 4 min: maybe a blip, the next sweep may read it"),
    (0, None, None, 5, True, "half the period: told, 15 min before the escalation past the deadline"),
    (3, None, None, 9, True, "before the deadline"),
    (10, None, None, 15, True, "began at the deadline: told at +15, still 5 min before +20"),
    (10, None, None, 16, False, "within half a period of the escalation at +20, which says it anyway"),
    (12, None, None, 19, False, "began after the deadline: the escalation at +20 says it"),
    (0, 5, None, 9, False, "told once already"),
    (0, None, 21, 22, False, "escalated past the deadline already"),
])
def test_a_person_is_told_once_when_the_evidence_stays_unreadable_for_half_the_period(since, told, escalated, now,
                                                                                      due, why) -> None:
    record = rollback().model_copy(update={
        "unread_since": None if since is None else at(since), "unread_told_at": None if told is None else at(told),
        "unread_escalated_at": None if escalated is None else at(escalated)})
    assert unread_notice_due(record, at(now)) is due, why


def test_no_notice_for_an_action_judged_already() -> None:
    record = rollback().model_copy(update={"unread_since": at(0), "state": ActionState.VERIFIED})
    assert unread_notice_due(record, at(6)) is False


def batch(now: float, after: tuple[float, float] | None = None, failing_after: bool = False) -> Evidence:
    """A service a batch job calls in 2-minute bursts: NEW failing half its 40 requests a minute in its
    bursts before the rollback, (-22, -20] and (-7, -5], nothing between; after the rollback, one burst
    at `after`, on OLD (failing as before with `failing_after`), or none."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -25).traffic(**{OLD: 100})
    for start in (-22, -7):
        e.requests(NEW, start, start + 2, 20).requests(NEW, start, start + 2, 20, "500").latency(NEW, start, start + 2,
                                                                                                  0.12)
    if after is not None:
        e.requests(OLD, *after, 20 if failing_after else 40).latency(OLD, *after, 0.12)
        if failing_after:
            e.requests(OLD, *after, 20, "500")
    return e


# name, evidence (whole to 3 minutes before the sweep), when the sweep runs (minutes from settle), health, step, words
BURSTS = [
    ("no burst since the rollback by the deadline: waits for the next, saying so", batch(8), 11,
     HealthKind.UNCLEAR, StepKind.WAIT, "idle between requests"),
    ("the last sweep that may undo it, still no burst: waits", batch(17), 20, HealthKind.UNCLEAR, StepKind.WAIT,
     "until"),
    ("no burst a verification period past the deadline: escalated, saying it waited", batch(18), 21,
     HealthKind.UNCLEAR, StepKind.ESCALATE, "waited a verification period past the deadline"),
    ("the next burst, clean, after the deadline: verified", batch(14, after=(12, 14)), 17, HealthKind.HEALTHY,
     StepKind.VERIFY, "healthy"),
    ("the next burst fails as before, on time: undone", batch(14, after=(12, 14), failing_after=True), 17,
     HealthKind.FAILING, StepKind.UNDO, "still failing"),
]


@pytest.mark.parametrize("name, evidence, now, health, step, words", BURSTS, ids=[b[0] for b in BURSTS])
def test_a_bursty_service_is_waited_for_past_the_deadline_within_the_undos_bar(name, evidence, now, health, step,
                                                                                words):
    """A batch job calls the service every 15 minutes: between its bursts it has no request, and Cloud Run
    writes no request_count point. Before, a rollback judged at its deadline between two bursts was
    escalated as not verifiable, though its next burst was minutes away. Now an `unclear` for want of
    requests on a service that went idle between requests before the action too waits past the deadline,
    until the last sweep that may undo it (a verification period past it), and says what for; then it is
    escalated, saying it waited. A service busy every minute before and silent since is not waited for
    (`no point since the rollback at the deadline`, above)."""
    record = rollback()
    bundle = evidence.bundle().model_copy(update={"collected_at": at(now), "incident_started_at": record.settle_at,
                                                  "request_lines": evidence.request_log(-6)})
    judged = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    then = next_step(record, judged, at(now), TIMES)
    assert (judged.kind, then.kind) == (health, step), (judged.why, then.why)
    assert words in then.why, then.why


def gave_up(after: float) -> Evidence:
    """NEW serves 100 requests a minute cleanly from its deploy (-20) until -12, then fails 60 %, and its
    callers give up: 30 a minute from -12 to the rollback (-5); OLD serves `after` a minute since, clean."""
    e = Evidence(now=6).revision(OLD, -180).revision(NEW, -20).traffic(**{OLD: 100})
    e.requests(NEW, -20, -12, 100).latency(NEW, -20, -12, 0.12)
    e.requests(NEW, -12, -5, 12).requests(NEW, -12, -5, 18, "500").latency(NEW, -12, -5, 0.12)
    return e.requests(OLD, -5, 6, after).latency(OLD, -5, 6, 0.12)


@pytest.mark.parametrize("after, health, words", [
    (8, HealthKind.UNCLEAR, "before the failures began"),
    # 40 % of the demand before the failures began: over `min_traffic_ratio`, under the half a `verified`
    # needs (judging.verified_kept). Verified before.
    (40, HealthKind.UNCLEAR, "its traffic is down to 40% of its demand before"),
    (60, HealthKind.HEALTHY, "healthy"),
])
def test_a_recovery_is_measured_against_the_demand_before_the_failures_began(after, health, words):
    """Callers gave up while the deploy failed (100 requests a minute before, 30 while failing): the rate
    over the lookback before the rollback, 67 a minute, made 8 a minute since a kept 12 %, over
    `min_traffic_ratio`'s 10 %, and the rollback was verified on 8 % of the demand. The rate before the
    failures began is the demand the recovery must carry: unclear, and the reason says against what."""
    record = rollback()
    evidence = gave_up(after)
    bundle = evidence.bundle().model_copy(update={"collected_at": sweep_at(evidence),
                                                  "incident_started_at": record.settle_at,
                                                  "request_lines": evidence.request_log(-6)})
    judged = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    assert judged.kind is health, judged.why
    assert words in judged.why, judged.why


# The rollback undone because the revision it went back to fails too: the deploy was not the cause, so the
# undo says so, naming both revisions and their failure shares (NEW failed 25 of 45 before, in `served`).
NOT_THE_DEPLOY = [
    ("as before, 500s", served(11, ok=20, errors=20), [f"{OLD}", "50.0%", f"{NEW}", "55.6%"]),
    ("worse since, 503s", served(11, ok=10, errors=30, code="503"), [f"{OLD}", "75.0%", f"{NEW}", "55.6%"]),
    ("hanging with the 500s", served(11, ok=20, errors=20, p99=30.0), [f"{OLD}", "50.0%", "p99", f"{NEW}"]),
    ("a sweep a few minutes late, 60%", served(16, ok=16, errors=24), [f"{OLD}", "60.0%", f"{NEW}", "55.6%"]),
]


@pytest.mark.parametrize("name,evidence,words", NOT_THE_DEPLOY, ids=[c[0] for c in NOT_THE_DEPLOY])
def test_an_undone_rollback_says_the_revision_before_the_deploy_fails_too(name, evidence, words):
    judged, then = verdict(rollback(), evidence)
    assert (judged.kind, then.kind) == (HealthKind.FAILING, StepKind.UNDO), judged.why
    assert then.shows.startswith("the deploy was not the cause"), then.shows
    assert "look elsewhere" in then.shows, then.shows
    for word in words:
        assert word in then.shows, then.shows


def test_only_an_undo_carries_what_the_failing_rollback_shows():
    judged, then = verdict(rollback(), served(6, ok=20, errors=20))   # before the deadline: waits
    assert then.kind is StepKind.WAIT and then.shows == ""
    judged, then = verdict(scale_up(), served(11, ok=20, errors=20, code="503").connector("e2-standard-4", 2, 4))
    assert then.kind is StepKind.ESCALATE and judged.shows == ""


@pytest.mark.parametrize("record,words", [
    (rollback(), "not undone, there is nothing left to write back to"),
    (scale_up(), "the connector's scale stays as it is"),
], ids=["a rollback", "a connector change"])
def test_a_service_deleted_since_is_escalated_at_once_saying_what_stays(record, words):
    gone = service_gone(record, "404 Service backend not found")
    step = next_step(record, gone, at(3), TIMES)       # before the deadline: at once
    assert (gone.kind, step.kind) == (HealthKind.CHANGED, StepKind.ESCALATE), step.why
    assert words in step.why and "NOT_FOUND" in step.why and "nothing written" in step.why, step.why


LEFT_DESIRED = [   # (name, pin, service now, the restore's split left desired by its failed operation)
    ("the restore's split asked for, the rollback's still serving", _pin(backend_00002_xyz=100),
     _asked_not_served({"backend_00002_xyz": 100}, {"backend_00001_abc": 100}), True),
    ("to latest asked for, the rollback's still serving", _pin(),
     _asked_not_served({"LATEST": 100}, {"backend_00001_abc": 100}), True),
    ("the restore's split serves: its own restore, not a failure", _pin(backend_00002_xyz=100),
     _serving(backend_00002_xyz=100), False),
    ("a person's split asked for, not the restore's", _pin(backend_00002_xyz=100),
     _asked_not_served({"backend_00001_abc": 50, "backend_00002_xyz": 50}, {"backend_00001_abc": 100}), False),
    ("no restore noted", _pin(marked=False), _asked_not_served({"LATEST": 100}, {"backend_00001_abc": 100}), False),
    ("the pin of another rollback", _pin(action_id="j|s|rollback_traffic"),
     _asked_not_served({"LATEST": 100}, {"backend_00001_abc": 100}), False),
    ("a restore noted before this rollback", _pin(mark_at=-6),
     _asked_not_served({"LATEST": 100}, {"backend_00001_abc": 100}), False),
]


@pytest.mark.parametrize("name,pin,service,left", LEFT_DESIRED, ids=[c[0] for c in LEFT_DESIRED])
def test_a_rollback_whose_operators_restore_failed_with_its_split_left_desired_is_named_so(name, pin, service, left):
    """An operator's restore of the rollback whose UpdateService operation failed with its split left desired:
    the sweep finds the rollback's traffic moved in `traffic` alone. Before, it said "a change made since by
    someone else"; now it names the restore, its failed operation, the split asked for and the one serving,
    and what to check."""
    from shared.remediation.judging import restore_left_desired
    note = restore_left_desired(rollback(), pin, service)
    assert bool(note) is left, note
    if left:
        assert "alice@example.com" in note and "rs-1" in note and "operation failed" in note, note
        assert f"asks for {split_text(service.traffic)}" in note, note
        assert f"serves {split_text(service.traffic_statuses)}" in note, note
        assert "gcloud run services describe backend" in note and "someone else" not in note, note


def _state(asked: dict[str, int], serving: dict[str, int]) -> dict:
    """A recorded service state (rollback_traffic.traffic_state): its traffic and its traffic_statuses."""
    def split(shares: dict[str, int]) -> list[dict]:
        return [{"type": "REVISION", "revision": r.replace("_", "-"), "percent": p, "tag": ""} for r, p in shares.items()]
    return {"generation": 4, "traffic": split(asked), "traffic_statuses": split(serving)}


LEFT_STATES = [   # (name, the state a failed write's claim kept, its words name asked vs serving)
    ("the undo's split asked for, the rollback's serving",
     _state({"backend_00002_xyz": 100}, {"backend_00001_abc": 100}), True),
    ("asked for and serving alike", _state({"backend_00002_xyz": 100}, {"backend_00002_xyz": 100}), False),
    ("no state kept (an answer lost)", None, False),
    ("nothing serving read", _state({"backend_00002_xyz": 100}, {}), False),
]


@pytest.mark.parametrize("name,after,named", LEFT_STATES, ids=[c[0] for c in LEFT_STATES])
def test_what_a_failed_operation_left_is_named_from_its_recorded_state(name, after, named):
    from shared.remediation.judging import asked_not_serving
    words = asked_not_serving(after, SERVICE)
    assert bool(words) is named, words
    if named:
        assert "asks for backend-00002-xyz 100%" in words and "serves backend-00001-abc 100%" in words, words
        assert "gcloud run services describe backend" in words, words


# The service-level settings a rollback's record keeps (rollback_traffic.traffic_state: Service.settings, as the
# Run adapter reads them) and the newest revision then.
KEPT_SETTINGS = {"ingress": "INGRESS_TRAFFIC_ALL", "scaling": {"max_instance_count": 20}}
# The revision template as shared/gcp/run.py template_settings reads it: a digest per field (the image left out).
KEPT_TEMPLATE = {"containers[0].env": "0a1b2c3d4e5f", "containers[0].resources": "5f4e3d2c1b0a",
                 "vpc_access": "c0ffee000001"}
PIPELINE = "backend-00003-pip"


def _pinned_rollback(settings: dict | None = KEPT_SETTINGS, template: dict | None = KEPT_TEMPLATE) -> ActionRecord:
    """A rollback to OLD whose write's answer showed generation 3, OLD pinned at 100%, and (unless None: a record
    written before they were kept) the service-level settings and NEW as the newest revision, and the template."""
    after = {"generation": 3, "traffic": [{"type": "REVISION", "revision": OLD, "percent": 100}]}
    if settings is not None:
        after |= {"settings": settings, "latest_created_revision": NEW}
    if template is not None:
        after |= {"template": template}
    return rollback().model_copy(update={"after": after})


def _since(*, generation: int = 4, deployed: tuple[str, ...] = (PIPELINE,), settings: dict | None = KEPT_SETTINGS,
           split: dict[str, int] | None = None, template: dict | None = KEPT_TEMPLATE) -> EvidenceBundle:
    """The service recovered on OLD since the rollback; `deployed`: revisions created since (+1, +2, ...), taking
    no traffic; the service read at `generation` with `settings` and `template` (None: read without them)."""
    e = served(6, split=split)
    for i, name in enumerate(deployed):
        e.revision(name, 1 + i)
    bundle = _with_audit(e)
    return bundle.model_copy(update={"service": bundle.service.model_copy(
        update={"generation": generation, "settings": settings, "template_settings": template})})


NO_TRAFFIC_DEPLOYS = [
    # name, record, bundle, health, words
    ("a pipeline's deploy taking no traffic under the pin, settings and split as left: verified",
     _pinned_rollback(), _since(), HealthKind.HEALTHY, ""),
    ("two such deploys, two steps: verified", _pinned_rollback(),
     _since(generation=5, deployed=(PIPELINE, "backend-00004-pip")), HealthKind.HEALTHY, ""),
    ("a deploy taking no traffic and max instances raised in the same minutes: not verified", _pinned_rollback(),
     _since(generation=5, settings={**KEPT_SETTINGS, "scaling": {"max_instance_count": 60}}), HealthKind.UNCLEAR,
     "scaling: {'max_instance_count': 20} -> {'max_instance_count': 60}"),
    ("a person's ingress change alone, no deploy: not verified", _pinned_rollback(),
     _since(deployed=(), settings={**KEPT_SETTINGS, "ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY"}), HealthKind.UNCLEAR,
     "ingress: INGRESS_TRAFFIC_ALL -> INGRESS_TRAFFIC_INTERNAL_ONLY"),
    ("two steps and one deploy (a change to something not read): not verified", _pinned_rollback(),
     _since(generation=5), HealthKind.UNCLEAR, "explain at most 1 of its 2 steps"),
    ("a step with no deploy and no setting changed: not verified", _pinned_rollback(), _since(deployed=()),
     HealthKind.UNCLEAR, "explain at most 0 of its 1 steps"),
    ("a record written before the settings were kept: a moved generation is not verified, as before",
     _pinned_rollback(None), _since(), HealthKind.UNCLEAR, "keeps no service-level settings"),
    ("a service read without its settings: not verified", _pinned_rollback(), _since(settings=None),
     HealthKind.UNCLEAR, "keeps no service-level settings"),
    ("a person's env change made with a deploy under the pin (its image as it was): named, not verified",
     _pinned_rollback(), _since(template={**KEPT_TEMPLATE, "containers[0].env": "0a1b2c3d4e60"}), HealthKind.UNCLEAR,
     "its revision template changed since beyond the code a deploy brings (containers[0].env; values not kept)"),
    ("a person's egress change and a new scaling block with two deploys: both named, not verified",
     _pinned_rollback(), _since(generation=5, deployed=(PIPELINE, "backend-00004-pip"),
                                template={**KEPT_TEMPLATE, "vpc_access": "c0ffee000002", "scaling": "aa"}),
     HealthKind.UNCLEAR, "(scaling, vpc_access; values not kept)"),
    ("a container's setting removed since: named", _pinned_rollback(),
     _since(template={k: v for k, v in KEPT_TEMPLATE.items() if k != "containers[0].resources"}), HealthKind.UNCLEAR,
     "(containers[0].resources; values not kept)"),
    ("a record with the settings but no template (written before it was kept): not verified",
     _pinned_rollback(template=None), _since(), HealthKind.UNCLEAR, "holds no revision template"),
    ("a service read without its template: not verified", _pinned_rollback(), _since(template=None),
     HealthKind.UNCLEAR, "holds no revision template"),
    ("Runwarden's own write alone (the rollback's split, no step since): verified", _pinned_rollback(),
     _since(generation=3, deployed=()), HealthKind.HEALTHY, ""),
    ("the newest revision at the rollback no longer listed: the deploys are not counted, not verified",
     _pinned_rollback().model_copy(update={"after": {**_pinned_rollback().after,
                                                     "latest_created_revision": "backend-00002-gone"}}),
     _since(), HealthKind.UNCLEAR, "is not among those read"),
]


@pytest.mark.parametrize("name,record,bundle,kind,words", NO_TRAFFIC_DEPLOYS, ids=[c[0] for c in NO_TRAFFIC_DEPLOYS])
def test_a_deploy_taking_no_traffic_under_the_pin_is_not_a_change_by_others(name, record, bundle, kind, words):
    """A pipeline deploying under a rollback's pin (`--no-traffic`, or any deploy while the split names a
    revision) moves the service's generation (a template change) and serves nothing: the recovery is still
    the rollback's. A service-level setting changed (max instances, ingress) applies to every revision at once
    and may be the recovery. Before, any generation past the rollback's was read as someone else's change, and a
    rollback that worked was escalated after every pipeline run."""
    bundle = bundle.model_copy(update={"incident_started_at": record.settle_at})
    judged = judge(record, bundle, OWN, None, TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why


PIPELINE_SA = "deployer@shop-prod.iam.gserviceaccount.com"
SHA_THEN, SHA_MID, SHA_NOW = "3f9c2e1a7b4d", "5b7a9c1d3e2f", "8e1d5c0b2a96"
IMAGE = "europe-docker.pkg.dev/shop-prod/backend/api"


def _stamped(env_then: dict[str, str], env_now: dict[str, str], *, image_then: str = f"{IMAGE}:{SHA_THEN}",
             image_now: str = f"{IMAGE}:{SHA_NOW}",
             creator_then: str = PIPELINE_SA, creator_now: str = PIPELINE_SA, secrets_now: tuple = (),
             deployed: tuple[str, ...] = (PIPELINE,), earlier: dict[str, Any] | None = None) -> EvidenceBundle:
    """A deploy under the pin since the rollback whose template's env changed (its digest moved): the newest
    revision then (NEW) with `env_then`, the image at SHA_THEN and `creator_then`; each revision deployed since
    with `env_now`, `image_now`, `creator_now` and `secrets_now`, but the first of two, which has `earlier`'s
    env, image and creator in their place (env, image, creator)."""
    from shared.diagnosis.evidence import SecretRef
    bundle = _since(generation=3 + len(deployed), deployed=deployed,
                    template={**KEPT_TEMPLATE, "containers[0].env": "0a1b2c3d4e60"})
    shaped = {NEW: dict(plain_env=tuple(env_then.items()), images=(image_then,), creator=creator_then)}
    for name in deployed:
        shaped[name] = dict(plain_env=tuple(env_now.items()), images=(image_now,), creator=creator_now,
                            secrets=tuple(SecretRef(env=k, secret=v, version="latest") for k, v in secrets_now))
    if earlier is not None and len(deployed) > 1:
        shaped[deployed[0]].update(plain_env=tuple(earlier["env"].items()), images=(earlier["image"],),
                                   creator=earlier["creator"])
    revisions = tuple(r.model_copy(update=shaped.get(r.short_name, {})) for r in bundle.revisions)
    return bundle.model_copy(update={"revisions": revisions})


POOL = {"DB_POOL": "10"}
BUILD_STAMPED_DEPLOYS = [
    # name, bundle, health, words
    ("GIT_SHA restamped with a new image by the account that deployed the revision before: verified",
     _stamped({"GIT_SHA": SHA_THEN, **POOL}, {"GIT_SHA": SHA_NOW, **POOL}), HealthKind.HEALTHY, ""),
    ("a full 40-digit sha and Cloud Build's BUILD_ID (a UUID) restamped together: verified",
     _stamped({"COMMIT": "a" * 40, "BUILD_ID": "0f8b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"},
              {"COMMIT": "b1" * 20, "BUILD_ID": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}), HealthKind.HEALTHY, ""),
    ("VERSION restamped with the images' own tags: verified",
     _stamped({"VERSION": "1.4.1"}, {"VERSION": "1.4.2"}, image_then=f"{IMAGE}:1.4.1", image_now=f"{IMAGE}:1.4.2"),
     HealthKind.HEALTHY, ""),
    ("VERSION changed to a value the new image's tag does not name: not verified",
     _stamped({"VERSION": "1.4.1"}, {"VERSION": "1.4.2"}, image_then=f"{IMAGE}:1.4.1", image_now=f"{IMAGE}:1.5.0"),
     HealthKind.UNCLEAR, "containers[0].env"),
    ("two pipeline deploys since, each restamping: verified",
     _stamped({"GIT_SHA": SHA_THEN}, {"GIT_SHA": SHA_NOW}, deployed=(PIPELINE, "backend-00004-pip"),
              earlier={"env": {"GIT_SHA": SHA_MID}, "image": f"{IMAGE}:{SHA_MID}", "creator": PIPELINE_SA}),
     HealthKind.HEALTHY, ""),
    ("a pipeline's deploy, then a person's with the same image and no env value changed (the digest moved by a "
     "value the revision does not show, an empty one, say): not verified",
     _stamped({"GIT_SHA": SHA_THEN}, {"GIT_SHA": SHA_NOW}, deployed=(PIPELINE, "backend-00004-per"),
              creator_now="alice@example.com",
              earlier={"env": {"GIT_SHA": SHA_NOW}, "image": f"{IMAGE}:{SHA_NOW}", "creator": PIPELINE_SA}),
     HealthKind.UNCLEAR, "containers[0].env"),
    ("the sha restamped and a setting changed in the same deploy: a person's change, not verified",
     _stamped({"GIT_SHA": SHA_THEN, **POOL}, {"GIT_SHA": SHA_NOW, "DB_POOL": "40"}), HealthKind.UNCLEAR,
     "containers[0].env"),
    ("the sha restamped with the image kept (a person's update naming a sha): not verified",
     _stamped({"GIT_SHA": SHA_THEN}, {"GIT_SHA": SHA_NOW}, image_now=f"{IMAGE}:{SHA_THEN}"), HealthKind.UNCLEAR,
     "containers[0].env"),
    ("the sha restamped by a person's account, not the one that deployed before: not verified",
     _stamped({"GIT_SHA": SHA_THEN}, {"GIT_SHA": SHA_NOW}, creator_now="alice@example.com"), HealthKind.UNCLEAR,
     "containers[0].env"),
    ("the creator not read: not verified (precision first)",
     _stamped({"GIT_SHA": SHA_THEN}, {"GIT_SHA": SHA_NOW}, creator_then="", creator_now=""), HealthKind.UNCLEAR,
     "containers[0].env"),
    ("a variable added with the new image (a stamp the pipeline did not set before): not verified",
     _stamped({}, {"GIT_SHA": SHA_NOW}), HealthKind.UNCLEAR, "containers[0].env"),
    ("a value that is a number, not a build's id (an all-digit value): not verified",
     _stamped({"WORKERS": "1000000"}, {"WORKERS": "2000000"}), HealthKind.UNCLEAR, "containers[0].env"),
    ("the sha restamped and a secret added: not verified",
     _stamped({"GIT_SHA": SHA_THEN}, {"GIT_SHA": SHA_NOW}, secrets_now=(("DB_PASSWORD", "db-pass"),)),
     HealthKind.UNCLEAR, "containers[0].env"),
]


@pytest.mark.parametrize("name,bundle,kind,words", BUILD_STAMPED_DEPLOYS, ids=[c[0] for c in BUILD_STAMPED_DEPLOYS])
def test_a_pipelines_deploy_stamping_its_build_into_env_is_not_a_persons_change(name, bundle, kind, words):
    """A pipeline that sets GIT_SHA (BUILD_ID, VERSION) with every new image changes the template's env with each
    deploy under the pin: the revisions show whether a step is that (image changed, only build ids restamped, the
    same creator as the revision before) or a person's change (`unclear`, precision first). Before, every such
    deploy read as a person's template change, and a working rollback under a stamping pipeline was `unclear`."""
    record = _pinned_rollback()
    bundle = bundle.model_copy(update={"incident_started_at": record.settle_at})
    judged = judge(record, bundle, OWN, None, TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why


def _read_at(record: ActionRecord, minute: float | None) -> ActionRecord:
    """`record` decided on evidence read at `minute` (None: a record that kept no read time)."""
    return record.model_copy(update={"evidence_read_at": None if minute is None else at(minute)})


BEFORE_THE_WRITE = [
    # name, record, bundle, health, words
    ("a person's change of the connector while the rollback waited for its write (read -8, changed -6, applied "
     "-5): theirs came first, not verified", _read_at(rollback(), -8),
     _with_audit(served(6), _by("alice@example.com", -6, CONNECTOR)), HealthKind.UNCLEAR,
     "their change came first"),
    ("a person's deploy while a scale-up waited for its approval: not verified", _read_at(scale_up(), -30),
     _with_audit(served(6).connector("e2-standard-4", 2, 4), _by("alice@example.com", -12)), HealthKind.UNCLEAR,
     "UpdateService on backend by alice@example.com at 11:48:00 (before the action)"),
    ("a change more than the clock-skew allowance before the evidence was read: the diagnosis's business, verified",
     _read_at(rollback(), -8), _with_audit(served(6), _by("alice@example.com", -14, CONNECTOR)), HealthKind.HEALTHY, ""),
    ("a record that kept no read time: read from the action, less the clock-skew allowance",
     _read_at(rollback(), None), _with_audit(served(6), _by("alice@example.com", -11, CONNECTOR)), HealthKind.HEALTHY,
     ""),
    ("a change before the write and one after it: the first named first", _read_at(rollback(), -8),
     _with_audit(served(6), _by("alice@example.com", -6, CONNECTOR), _by("bob@example.com", 2)), HealthKind.UNCLEAR,
     "by bob@example.com at 12:02:00"),
]


@pytest.mark.parametrize("name,record,bundle,kind,words", BEFORE_THE_WRITE, ids=[c[0] for c in BEFORE_THE_WRITE])
def test_a_persons_change_between_the_evidence_and_the_write_is_read(name, record, bundle, kind, words):
    """A person's fix made after the diagnosis read its evidence and before the write (an approval wait, the gate's
    reads) came first: the write did not clear what was cleared already. Before, only the audit log after
    `applied_at` was read, and such an action was `verified`."""
    bundle = bundle.model_copy(update={"incident_started_at": record.settle_at})
    judged = judge(record, bundle, OWN, None, TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why


def _skewed(skew: float, change: float) -> tuple[ActionRecord, EvidenceBundle]:
    """A scale-up whose evidence was read at -8 in real time by an instance whose clock ran `skew` minutes ahead
    (negative: behind), so its record says -8 + skew; a person changed the connector at `change`, real time, as
    Google dates it (LogEntry.timestamp)."""
    return (_read_at(scale_up(), -8 + skew),
            _with_audit(served(6).connector("e2-standard-4", 2, 4), _by("alice@example.com", change, CONNECTOR)))


SKEWED_READS = [
    # name, skew (minutes the reading instance's clock ran ahead), the person's change (real minute), health, words
    ("a change a minute after the read, the reader 2 min ahead: named as possibly first", 2, -7, HealthKind.UNCLEAR,
     "within the clock-skew allowance of it"),
    ("a change a minute after the read, clocks agreeing: named", 0, -7, HealthKind.UNCLEAR, "their change came first"),
    ("a change a minute after the read, the reader 2 min behind: named", -2, -7, HealthKind.UNCLEAR,
     "their change came first"),
    ("a change a minute before the read, the reader 2 min ahead: named as possibly first (the clocks cannot tell)",
     2, -9, HealthKind.UNCLEAR, "may have come after it"),
    ("a change a minute before the read, the reader 2 min behind: named as possibly first", -2, -9,
     HealthKind.UNCLEAR, "their change came first"),
    ("a change 10 min before the read, the reader 2 min ahead: the diagnosis's business, verified", 2, -18,
     HealthKind.HEALTHY, ""),
    ("a change 10 min before the read, the reader 2 min behind: the diagnosis's business, verified", -2, -18,
     HealthKind.HEALTHY, ""),
]


@pytest.mark.parametrize("name,skew,change,kind,words", SKEWED_READS, ids=[c[0] for c in SKEWED_READS])
def test_a_persons_change_is_read_whatever_the_readers_clock(name, skew, change, kind, words):
    """The record's `evidence_read_at` is the reading instance's clock, an audit entry's time Google's; the
    instances' clocks may differ by minutes (issue 13's drills: +-2 min). Before, an instance 2 min ahead dated
    its read after a person's change made a minute after it, and the scale-up was `verified` on the person's
    fix."""
    record, bundle = _skewed(skew, change)
    judged = judge(record, bundle.model_copy(update={"incident_started_at": record.settle_at}), OWN, None,
                   TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why


def _cut(evidence: Evidence, *entries, truncated: bool = True) -> EvidenceBundle:
    """`evidence` with an audit read of `entries` that came back at its bound (`truncated`), newest first."""
    bundle = _with_audit(evidence, *sorted(entries, key=lambda e: e.timestamp, reverse=True))
    return bundle.model_copy(update={"audit": bundle.audit.model_copy(update={"truncated": truncated}),
                                     "connector_audit": bundle.connector_audit.model_copy(
                                         update={"truncated": truncated})})


AUDIT_CUT = [
    # name, record, bundle, health, words
    ("an audit read cut at its bound after the action: what came before it not read, not verified",
     _read_at(scale_up(), -8), _cut(served(6).connector("e2-standard-4", 2, 4), _by(RUNWARDEN, 2), _by(RUNWARDEN, 1)),
     HealthKind.UNCLEAR, "came back cut at its bound (2,000 entries, newest first), back to 12:01:00 only"),
    ("an audit read cut at its bound with only the connector's entries kept: not verified", _read_at(scale_up(), -8),
     _cut(served(6).connector("e2-standard-4", 2, 4), _by(RUNWARDEN, 1, CONNECTOR)), HealthKind.UNCLEAR,
     "back to 12:01:00 only"),
    ("an audit read cut at its bound but reaching back past the read and its allowance: verified",
     _read_at(scale_up(), -8), _cut(served(6).connector("e2-standard-4", 2, 4), _by(RUNWARDEN, 1),
                                    _by(RUNWARDEN, -14)), HealthKind.HEALTHY, ""),
    ("an audit read whole: verified", _read_at(scale_up(), -8),
     _cut(served(6).connector("e2-standard-4", 2, 4), _by(RUNWARDEN, 1), truncated=False), HealthKind.HEALTHY, ""),
    ("a person's change read on a cut read: named, as any", _read_at(scale_up(), -8),
     _cut(served(6).connector("e2-standard-4", 2, 4), _by(RUNWARDEN, 2), _by("bob@example.com", 1)),
     HealthKind.UNCLEAR, "by bob@example.com"),
]


@pytest.mark.parametrize("name,record,bundle,kind,words", AUDIT_CUT, ids=[c[0] for c in AUDIT_CUT])
def test_an_audit_read_cut_at_its_bound_never_verifies(name, record, bundle, kind, words):
    """A busy project's Admin Activity log can hold more entries within the window than the read takes; read newest
    first, the entries left out are the oldest, from the evidence's read on: the very ones asked about. Before, a
    cut read (LogResult.truncated) was read as whole, and an action was `verified` with a person's change unread."""
    judged = judge(record, bundle.model_copy(update={"incident_started_at": record.settle_at}), OWN, None,
                   TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why


def test_a_change_before_a_revision_the_evidence_held_is_before_the_read():
    """Within the allowance before the read, a change dated at or before the newest revision the record names
    (its create_time, Google's clock, like the entry's) came before the read whatever the instance's clock: the
    person's deploy the rollback took the traffic from is the diagnosis's business, not a change since."""
    record = _read_at(rollback(), -19)
    deploy = _with_audit(served(6), _by("alice@example.com", -20.5))
    judged = judge(record, deploy.model_copy(update={"incident_started_at": record.settle_at}), OWN, None,
                   TIMES.min_traffic_ratio)
    assert judged.kind is HealthKind.HEALTHY, judged.why
    later = _with_audit(served(6), _by("alice@example.com", -19.5))
    judged = judge(record, later.model_copy(update={"incident_started_at": record.settle_at}), OWN, None,
                   TIMES.min_traffic_ratio)
    assert judged.kind is HealthKind.UNCLEAR and "within the clock-skew allowance of it" in judged.why, judged.why


def _service_read_at(record: ActionRecord, read: float, updated: float | None) -> ActionRecord:
    """`record` decided on evidence read at `read` (the instance's clock), its plan's before-state keeping the
    service's update_time as read (Google's clock; None: a record stored before it was kept)."""
    record = _read_at(record, read)
    if updated is None:
        return record
    return record.model_copy(update={"before": {**record.before, "update_time": at(updated).isoformat()}})


CI = "ci-deployer@demo.iam.gserviceaccount.com"
SERVER_TIMES = [
    # name, record, the change's minute, health, words
    ("a pipeline's traffic step at -11 that made the service fail, the service's update_time -11, read at -8: "
     "seen by the read, verified", _service_read_at(rollback(), -8, -11), -11, HealthKind.HEALTHY, ""),
    ("a change at -12.9, before the update_time the read saw: verified", _service_read_at(rollback(), -8, -11), -12.9,
     HealthKind.HEALTHY, ""),
    ("the update_time kept as Firestore's 'Z' form: read alike, verified",
     _read_at(rollback(), -8).model_copy(update={"before": {"update_time": "2026-11-26T11:49:00Z"}}), -11,
     HealthKind.HEALTHY, ""),
    ("a change after the update_time the read saw, within the allowance before the read: named as possibly first",
     _service_read_at(rollback(), -8, -11), -10, HealthKind.UNCLEAR, "within the clock-skew allowance of it"),
    ("a change after the read: named", _service_read_at(rollback(), -8, -11), -7, HealthKind.UNCLEAR,
     "their change came first"),
    ("a record stored before the update_time was kept: read as before, named as possibly first",
     _service_read_at(rollback(), -8, None), -11, HealthKind.UNCLEAR, "within the clock-skew allowance of it"),
]


@pytest.mark.parametrize("name,record,change,kind,words", SERVER_TIMES, ids=[c[0] for c in SERVER_TIMES])
def test_a_change_the_read_already_saw_by_the_services_update_time_is_before_it(name, record, change, kind, words):
    """A pipeline's or canary tool's traffic step (UpdateService by its account) is what made the service fail,
    usually minutes before the evidence was read: within the clock-skew allowance before the read (the instance's
    clock). The plan's before-state keeps the service's update_time as read (Google's clock, like the entry's), and
    an entry dated at or before it came before the read whatever the instances' clocks. Before, only the named
    revisions' create_time ruled one out, and a rollback that worked was `unclear` on the step that caused it."""
    bundle = _with_audit(served(6), _by(CI, change))
    judged = judge(record, bundle.model_copy(update={"incident_started_at": record.settle_at}), OWN, None,
                   TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why


def _deploy_entry(minute: float, *, v1: bool = False, principal: str = CI, status: int | None = None):
    """A deploy's Admin Activity entry (Cloud Run audit logging): v2's UpdateService on the service's full name,
    or gcloud's v1 ReplaceService naming it by namespace."""
    entry = _by(principal, minute, status=status)
    if not v1:
        return entry
    return entry.model_copy(update={"method_name": "google.cloud.run.v1.Services.ReplaceService",
                                    "resource_name": "namespaces/demo-project/services/backend"})


def _since_audited(*entries, **since) -> EvidenceBundle:
    bundle = _since(**since)
    return bundle.model_copy(update={"audit": bundle.audit.model_copy(update={"entries": tuple(entries)})})


DEPLOY_ENTRIES = [
    # name, bundle, health, words
    ("a pipeline's deploy under the pin with its own audit entry (v2 UpdateService, at its revision): verified",
     _since_audited(_deploy_entry(1)), HealthKind.HEALTHY, ""),
    ("its entry seconds before its revision: verified", _since_audited(_deploy_entry(0.9)), HealthKind.HEALTHY, ""),
    ("gcloud's v1 ReplaceService entry: verified", _since_audited(_deploy_entry(0.9, v1=True)), HealthKind.HEALTHY,
     ""),
    ("two deploys, two entries: verified", _since_audited(_deploy_entry(0.9), _deploy_entry(1.9),
                                                          generation=5, deployed=(PIPELINE, "backend-00004-pip")),
     HealthKind.HEALTHY, ""),
    ("a deploy's entry and a person's second update of the service: the second named",
     _since_audited(_deploy_entry(0.9), _by("alice@example.com", 3)), HealthKind.UNCLEAR,
     "UpdateService on backend by alice@example.com at 12:03:00"),
    ("a deploy's entry dated after its revision (the undocumented other order): named, never verified",
     _since_audited(_deploy_entry(1.5)), HealthKind.UNCLEAR, f"by {CI} at 12:01:30"),
    ("a deploy's entry and a person's change of the connector: the connector's named",
     _since_audited(_deploy_entry(0.9), _by("alice@example.com", 2, CONNECTOR)), HealthKind.UNCLEAR,
     "backend-conn by alice"),
    ("no deploy since (generation as the rollback left it), a person's UpdateService: named",
     _since_audited(_by("alice@example.com", 1), generation=3, deployed=()), HealthKind.UNCLEAR,
     "by alice@example.com at 12:01:00"),
]


@pytest.mark.parametrize("name,bundle,kind,words", DEPLOY_ENTRIES, ids=[c[0] for c in DEPLOY_ENTRIES])
def test_a_pipelines_deploy_under_the_pin_is_not_named_by_its_own_audit_entry(name, bundle, kind, words):
    """Every real deploy writes an Admin Activity entry (ReplaceService or UpdateService by the pipeline's account,
    dated at the operation's start). `unexplained_generations` accounts for the deploy by its revision; its entry is
    that same deploy, passed over (one per revision created since, dated at or before it, on the service). Before,
    the entry was named as someone else's change after the generation check had accepted the deploy: a pipeline's
    deploy under the rollback's pin could never be `verified`."""
    record = _pinned_rollback()
    judged = judge(record, bundle.model_copy(update={"incident_started_at": record.settle_at}), OWN, None,
                   TIMES.min_traffic_ratio)
    assert judged.kind is kind, judged.why
    assert words in judged.why, judged.why
