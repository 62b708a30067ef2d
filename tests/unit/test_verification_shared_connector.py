"""A connector change judged when the service it was made for is deleted during its verification, and the
other worlds a shared connector brings to the sweep (shared/remediation/judging.py: combine,
without_the_gone, next_step). Pure, no I/O.

Times are minutes from the action's settle time (T0): applied at -5, settled at 0, deadline at +10. The
connector change (scale_up) was made for `backend`; `payments` is another managed service whose serving
revision uses the same connector, judged on its own evidence (judge) as the sweep judges every service
behind a connector (verification.Sweep._health)."""
from __future__ import annotations

import pytest

from shared.diagnosis.evidence import LogRecord, LogResult
from shared.remediation.judging import Health, HealthKind, StepKind, combine, judge, next_step, service_gone
from tests.unit.builders import CONNECTOR, Evidence, at
from tests.unit.test_verification_judging import OLD, SETTINGS, TIMES, rollback, scale_up, served, sweep_at, swept

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


def _judged(record, evidence: Evidence, **update):
    bundle = swept(evidence).model_copy(update={"incident_started_at": record.settle_at, **update})
    health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    return health, next_step(record, health, sweep_at(evidence), TIMES)


def _on_connector(minute: float, method: str, principal: str = "alice@example.com") -> LogRecord:
    """An Admin Activity audit entry on the connector (AuditLog.methodName, as Serverless VPC Access writes
    it: google.cloud.vpcaccess.v1.VpcAccessService.<Method>)."""
    return LogRecord(timestamp=at(minute), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                     text=method, method_name=f"google.cloud.vpcaccess.v1.VpcAccessService.{method}",
                     resource_name=CONNECTOR, principal=principal)


# A connector deleted and made again under the same name (Terraform's replace, a person's fix): a v1
# Connector has no uid, create time or etag to tell the new one from the old (its fields: name, network,
# ip_cidr_range, state, min_throughput, max_throughput, connected_projects, subnet, machine_type,
# min_instances, max_instances: google/cloud/vpcaccess/v1/vpc_access.proto, message Connector). Only its
# settings and the audit log tell.
RECREATED = LogResult(query="audit", entries=(_on_connector(2, "DeleteConnector"), _on_connector(4, "CreateConnector")))


def _recreated_service(now: float) -> Evidence:
    """backend deleted and deployed again under its name after the change: its only revision, created at +2,
    serves cleanly since."""
    e = Evidence(now=now).revision("backend-00001-new", 2)
    e.traffic(backend_00001_new=100)
    e.requests("backend-00001-new", 2, now, 40).latency("backend-00001-new", 2, now, 0.1)
    return _scaled(e.requests(OLD, -30, -5, 20).requests(OLD, -30, -5, 25, "500"))


def _moved_off(now: float) -> Evidence:
    """A person moved backend's traffic during the verification to an older revision that uses another
    connector: it serves cleanly there since +1."""
    e = Evidence(now=now).revision(OLD, -180, connector=CONNECTOR + "-2").revision("backend-00002-xyz", -20)
    e.traffic(backend_00001_abc=100)
    e.requests("backend-00002-xyz", -30, 1, 20).requests("backend-00002-xyz", -30, 1, 25, "503")
    return _scaled(e.requests(OLD, 1, now, 40).latency(OLD, 1, now, 0.1))


# name, record, evidence, bundle fields replaced, kind, step, words: worlds the sweep already judges right
# (each row passes on the code before this table), kept so they stay so.
ALREADY_RIGHT = [
    ("a connector recreated with the change's settings, after the change: not credited to it", scale_up(),
     clean(6), {"connector_audit": RECREATED}, HealthKind.UNCLEAR, StepKind.WAIT, "DeleteConnector"),
    ("the same at the deadline: escalated, nothing written", scale_up(), clean(12), {"connector_audit": RECREATED},
     HealthKind.UNCLEAR, StepKind.ESCALATE, "CreateConnector"),
    ("a connector recreated with its old settings: the change is gone", scale_up(),
     served(6).connector(machine_type="e2-micro", min_instances=2, max_instances=3), {}, HealthKind.CHANGED,
     StepKind.ESCALATE, "machine_type e2-micro"),
    ("the revision scaled to zero since +1 (no requests): demand unknown, not healthy", scale_up(),
     _scaled(served(6, until=1)), {}, HealthKind.UNCLEAR, StepKind.WAIT, "no requests since"),
    ("the same at the deadline: escalated, never verified", scale_up(), _scaled(served(12, until=1)), {},
     HealthKind.UNCLEAR, StepKind.ESCALATE, "could not be verified"),
    ("points late at the deadline (Monitoring's newest minutes not in yet): not verified on the old ones",
     scale_up(), _scaled(served(12, until=4)), {}, HealthKind.UNCLEAR, StepKind.ESCALATE, "metrics are late"),
    ("a rollback's points late at the deadline: not undone", rollback(), served(12, until=4), {},
     HealthKind.UNCLEAR, StepKind.ESCALATE, "not undone"),
    ("traffic moved by a person onto a revision on another connector: not the change's doing", scale_up(),
     _moved_off(6), {}, HealthKind.UNCLEAR, StepKind.WAIT, "backend-conn-2"),
    ("the service deleted and deployed again under its name: its recovery not credited to the change",
     scale_up(), _recreated_service(8), {}, HealthKind.UNCLEAR, StepKind.ESCALATE, "backend-00001-new"),
]


@pytest.mark.parametrize("name,record,evidence,update,kind,step,words", ALREADY_RIGHT,
                         ids=[r[0] for r in ALREADY_RIGHT])
def test_worlds_around_a_connector_change_already_judged_right(name, record, evidence, update, kind, step, words):
    health, step_ = _judged(record, evidence, **update)
    assert (health.kind, step_.kind) == (kind, step), step_.why
    assert words in step_.why, step_.why


def test_a_second_service_failing_after_the_scale_while_the_first_recovered_is_never_verified_nor_undone():
    """A machine-type move restarts the connector's instances: backend, the one it was made for, recovers,
    while payments, clean before on the same connector, answers half its requests 503 since. Judged on
    every service behind the connector (combine): failing, waited for, escalated at the deadline with
    payments' evidence; a connector change is never undone (already so before this table)."""
    early = combine([(BACKEND, peer(clean(6))), (PAYMENTS, peer(broke_after(6)))])
    late = combine([(BACKEND, peer(clean(12))), (PAYMENTS, peer(broke_after(12)))])
    assert next_step(scale_up(), early, at(9), TIMES).kind is StepKind.WAIT
    step = next_step(scale_up(), late, at(15), TIMES)
    assert (late.kind, step.kind) == (HealthKind.FAILING, StepKind.ESCALATE), step.why
    assert "payments" in step.why and "50.0% 5xx or 429" in step.why and "cannot be undone" in step.why
