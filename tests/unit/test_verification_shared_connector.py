"""A connector change judged when the service it was made for is deleted during its verification, and the
other worlds a shared connector brings to the sweep (shared/remediation/judging.py: combine,
without_the_gone, next_step). Pure, no I/O.

Times are minutes from the action's settle time (T0): applied at -5, settled at 0, deadline at +10. The
connector change (scale_up) was made for `backend`; `payments` is another managed service whose serving
revision uses the same connector, judged on its own evidence (judge) as the sweep judges every service
behind a connector (verification.Sweep._health)."""
from __future__ import annotations

import pytest

from shared.remediation.judging import Health, HealthKind, StepKind, combine, judge, next_step, service_gone
from tests.unit.builders import Evidence, at
from tests.unit.test_verification_judging import OLD, SETTINGS, TIMES, scale_up, served, sweep_at, swept

BACKEND = "projects/demo/locations/us-central1/services/backend"
PAYMENTS = "projects/demo/locations/us-central1/services/payments"
REPORTS = "projects/demo/locations/us-central1/services/reports"
NOT_FOUND = "NOT_FOUND: Resource 'backend' of kind 'SERVICE' in region 'us-central1' in project 'demo' does not exist."


def _scaled(e: Evidence) -> Evidence:
    """The connector as the change left it (READY, e2-standard-4, 2 to 4 instances)."""
    return e.connector(machine_type="e2-standard-4", min_instances=2, max_instances=4)


def clean(now: float, ok: float = 40) -> Evidence:
    """Served cleanly and fast since the change (and failing before it, as the connector's users did)."""
    return _scaled(served(now, ok=ok))


def broke_after(now: float, failing: float = 20) -> Evidence:
    """Clean before the change (40 a minute, 0.12 s), then `failing` of 40 a minute answered 503 since: the
    machine-type move restarted the connector's instances, and this service's connections broke."""
    e = Evidence(now=now).revision(OLD, -180)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -30, -5, 40).latency(OLD, -30, -5, 0.12)
    e.requests(OLD, -5, now, 40 - failing).requests(OLD, -5, now, failing, "503").latency(OLD, -5, now, 0.12)
    return _scaled(e)


def peer(evidence: Evidence) -> Health:
    """How the sweep judges another service behind the connector on its own evidence."""
    bundle = swept(evidence).model_copy(update={"incident_started_at": scale_up().settle_at})
    return judge(scale_up(), bundle, SETTINGS, None, TIMES.min_traffic_ratio)


GONE = service_gone(scale_up(), NOT_FOUND)
NOT_IN_TIME = Health(HealthKind.UNCLEAR, "not read in this sweep's time")
UNREADABLE = Health(HealthKind.UNCLEAR, "cannot be read, so whether it uses the connector is not known")
PUT_BACK = Health(HealthKind.CHANGED, "backend-conn no longer shows the action's change: state READY, machine_type "
                                      "e2-micro (the action set e2-standard-4)")

# name, the other services' standings, when the sweep runs (minutes from T0), kind, step, words the reason has
GONE_CASES = [
    ("alone behind the connector: escalated at once, saying none is left to judge it by", [], 4,
     HealthKind.CHANGED, StepKind.ESCALATE, ["no other managed service uses the connector now", "NOT_FOUND"]),
    ("another service healthy since: escalated at once with its evidence, never verified", [(PAYMENTS, peer(clean(6)))],
     6 + 3, HealthKind.CHANGED, StepKind.ESCALATE,
     ["payments: healthy on live data", "0 (0.0%) 5xx or 429", "did not hurt them", "not verified"]),
    ("another service failing since the machine-type move, before the deadline: waits as any change",
     [(PAYMENTS, peer(broke_after(6)))], 6 + 3, HealthKind.FAILING, StepKind.WAIT, ["payments", "50.0% 5xx or 429"]),
    ("the same at the deadline: escalated with its evidence, not undone", [(PAYMENTS, peer(broke_after(12)))], 12 + 3,
     HealthKind.FAILING, StepKind.ESCALATE, ["payments", "50.0% 5xx or 429", "cannot be undone", "no longer exists"]),
    ("another service with too few minutes yet: waits, not escalated on no evidence", [(PAYMENTS, peer(clean(1)))],
     1 + 3, HealthKind.UNCLEAR, StepKind.WAIT, ["payments", "too little traffic"]),
    ("another service not read in this sweep's time: waits for a sweep that reads it", [(PAYMENTS, NOT_IN_TIME)], 4,
     HealthKind.UNCLEAR, StepKind.WAIT, ["payments", "not read in this sweep's time"]),
    ("another service still unreadable at the deadline: escalated naming it", [(PAYMENTS, UNREADABLE)], 11,
     HealthKind.UNCLEAR, StepKind.ESCALATE, ["payments", "cannot be read", "no longer exists", "cannot be undone"]),
    ("one healthy, one failing since: the failing one leads", [(PAYMENTS, peer(clean(12))),
                                                               (REPORTS, peer(broke_after(12)))], 12 + 3,
     HealthKind.FAILING, StepKind.ESCALATE, ["reports", "50.0% 5xx or 429", "payments: healthy"]),
    ("the connector put back since: escalated at once with both", [(PAYMENTS, PUT_BACK)], 4, HealthKind.CHANGED,
     StepKind.ESCALATE, ["no longer exists", "machine_type e2-micro"]),
]


@pytest.mark.parametrize("name,others,now,kind,step,words", GONE_CASES, ids=[c[0] for c in GONE_CASES])
def test_a_connector_change_whose_service_was_deleted_is_judged_on_the_services_still_behind_it(
        name, others, now, kind, step, words):
    """Before, the deletion outranked every other service behind the connector: escalated at once, with
    "also payments: healthy" (or failing, or unclear) and none of their evidence, so a person learnt the
    service was gone but not whether the scale helped or hurt the services still using it; a service with
    too few minutes yet was escalated on no evidence. Never `healthy`, never undone."""
    health = combine([(BACKEND, GONE), *others])
    step_ = next_step(scale_up(), health, at(now), TIMES)
    assert (health.kind, step_.kind) == (kind, step), step_.why
    assert health.kind is not HealthKind.HEALTHY and step_.kind not in (StepKind.VERIFY, StepKind.UNDO)
    for word in words:
        assert word in step_.why, (word, step_.why)
