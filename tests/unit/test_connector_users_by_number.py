"""A connector named by a project number that cannot be told from the project id the alert, the config and the
records name it by ("{project} can be project id or number", VpcAccess.connector, google/cloud/run/v2/
vendor_settings.proto), everywhere Runwarden compares connector names outside the sweep's own matching:

- a connector alert's users (collection.users_of): such a service is `by_number` and `maybe`, never "not
  behind it"; the alert is escalated with its verdict, never `skipped` nor acted on (through the pipeline,
  on the stand-ins: sandbox/scenarios/connector_alert_shared_vpc_*_by_host_number.yaml);
- a connector's policy in the config (planning, scale_connector's bounds): a name by number that may be a
  configured connector's is never scaled under the default policy, nor under that one;
- the sweep's later own writes on the path (judging.later_own_writes), and an approve's re-read of who is
  behind the connector (approval._moved_onto).

Pure tables where the logic is pure; the Cloud Run port in `users_of`'s table is a table of answers."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.commands import approval
from shared.config import Bounds, ConnectorPolicy, DiagnosisSettings
from shared.diagnosis.collection import Users, users_of
from shared.diagnosis.connector_names import by_another_form, doubtful_policies
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Revision, Service, TrafficTarget, TrafficType
from shared.diagnosis.signatures import Signature
from shared.pipeline import handle_alert
from shared.remediation import judging
from shared.remediation.actions import get_action
from shared.remediation.planning import plan
from shared.remediation.records import ActionRecord, ActionState, ProposalRecord

from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR
from tests.unit.builders import CONNECTOR, T0
from tests.unit.test_scale_connector import config, params, saturated

HOST = "projects/net-host-prod/locations/us-central1/connectors/shop-conn"
HOST_NUMBER = "projects/50859491105/locations/us-central1/connectors/shop-conn"
STOREFRONT = "projects/shop-prod/locations/us-central1/services/storefront"
CHECKOUT = "projects/shop-prod/locations/us-central1/services/checkout"
BY_NUMBER = CONNECTOR.replace("projects/demo/", "projects/424242/")


# --- the names alone ----------------------------------------------------------------------------

FORMS = [
    ("by number and by id, same location and id", HOST_NUMBER, HOST, True),
    ("by id and by number", HOST, HOST_NUMBER, True),
    ("two ids", HOST, "projects/other/locations/us-central1/connectors/shop-conn", False),
    ("two numbers", HOST_NUMBER, "projects/7/locations/us-central1/connectors/shop-conn", False),
    ("the same name", HOST, HOST, False),
    ("another region", HOST_NUMBER, HOST.replace("us-central1", "europe-west1"), False),
    ("another connector id", HOST_NUMBER, HOST.replace("shop-conn", "other-conn"), False),
    ("not a full name", "shop-conn", HOST, False),
]


@pytest.mark.parametrize("name,named,connector,maybe", FORMS, ids=[f[0] for f in FORMS])
def test_two_names_of_one_connector_by_id_and_number_cannot_be_told_apart(name, named, connector, maybe):
    assert by_another_form(named, connector) is maybe


def test_the_policies_a_name_by_number_may_be():
    policies = (HOST, HOST.replace("shop-conn", "other-conn"), "projects/else/locations/us-central1/connectors/shop-conn")
    assert doubtful_policies(HOST_NUMBER, policies) == (HOST, policies[2])
    assert doubtful_policies(HOST, policies) == ()      # named by id: looked up exactly, as before


# --- who is behind a connector ----------------------------------------------------------------


def _service(name: str, *connectors: str | None, urls: tuple[str, ...] = ()) -> tuple[Service, list[Revision]]:
    short = name.rsplit("/", 1)[1]
    revisions = [Revision(name=f"{name}/revisions/{short}-{i}", service=name, create_time=T0 - timedelta(days=3 - i),
                          vpc_connector=c) for i, c in enumerate(connectors)]
    split = tuple(TrafficTarget(type=TrafficType.REVISION, revision=r.short_name, percent=100 // len(revisions))
                  for r in revisions)
    return Service(name=name, generation=1, traffic=split, traffic_statuses=split, urls=urls), revisions


class _Run:
    """Cloud Run's answers, one service each (the RunPort's two reads)."""

    def __init__(self, *services: tuple[Service, list[Revision]]) -> None:
        self.services = {s.name: (s, r) for s, r in services}

    def get_service(self, name: str) -> Service:
        return self.services[name][0]

    def list_revisions(self, name: str) -> list[Revision]:
        return self.services[name][1]


class _Readers:
    def __init__(self, *services: tuple[Service, list[Revision]]) -> None:
        self.run = _Run(*services)


SHOP_OWN_URL = ("https://checkout-786669526429.us-central1.run.app",)   # shop-prod's own number

USERS = [
    ("by the connector's project id: a user", _service(CHECKOUT, HOST), ("user",)),
    ("by a number that cannot be told from net-host-prod: maybe behind it", _service(CHECKOUT, HOST_NUMBER),
     ("by_number", "maybe")),
    ("by its own project's number (its URL says so), the connector in the host: not behind it",
     _service(CHECKOUT, HOST.replace("net-host-prod", "786669526429"), urls=SHOP_OWN_URL), ()),
    ("a split: one revision by id, one by number: a user", _service(CHECKOUT, HOST, HOST_NUMBER), ("user",)),
    ("by a number, another connector id: not behind it",
     _service(CHECKOUT, HOST_NUMBER.replace("shop-conn", "other-conn")), ()),
    ("Direct VPC egress: not behind it", _service(CHECKOUT, None), ()),
]


@pytest.mark.parametrize("name,service,found", USERS, ids=[u[0] for u in USERS])
def test_a_connector_alerts_users_count_a_name_by_number_as_maybe_never_as_not_behind(name, service, found):
    users = users_of(_Readers(service), [(CHECKOUT, ())], connector=HOST)
    assert (CHECKOUT in users.services) is ("user" in found)
    assert (CHECKOUT in users.by_number) is ("by_number" in found)
    assert (CHECKOUT in users.maybe) is ("maybe" in found)
    if "by_number" in found:
        assert "checkout name(s) the connector by a project number" in users.caveat, users.caveat


# --- a connector alert, through the pipeline, on the stand-ins ------------------------------------


def _alert(scenario: str, services: tuple[str, ...]):
    w = FastWorld(seeded_copy(scenario, None), ANCHOR, services=services)
    document = scenario_model(scenario).notification(ANCHOR)
    return w, handle_alert(event(json.dumps(document).encode(), "f-1"), w.config, w.adapters)


def test_a_connector_alert_whose_only_managed_user_names_it_by_another_projects_number_reaches_a_person():
    """Before: `skipped`, "no managed service's serving revision uses" it, storefront never diagnosed."""
    w, outcome = _alert("connector_alert_shared_vpc_user_by_host_number", (STOREFRONT,))
    assert outcome.status.value == "escalated", outcome.reason
    assert "storefront name(s) " + HOST in outcome.reason and "project number" in outcome.reason, outcome.reason
    assert outcome.diagnosis is not None and outcome.diagnosis.signature != "healthy"
    assert w.standins.vpcaccess.count("PatchConnector") == 0


def test_a_connector_alert_with_a_second_user_maybe_behind_it_scales_nothing():
    """Before: the connector was moved to e2-standard-4 for storefront alone (its policy allows one-way
    changes), on a decision that never weighed checkout, which may be behind it."""
    w, outcome = _alert("connector_alert_shared_vpc_second_user_by_host_number", (STOREFRONT, CHECKOUT))
    assert outcome.status.value == "escalated", outcome.reason
    assert "checkout name(s) " + HOST in outcome.reason and "connector_saturation" in outcome.reason, outcome.reason
    assert outcome.action is None
    assert w.standins.vpcaccess.count("PatchConnector") == 0


# --- a connector's policy ---------------------------------------------------------------------


def test_a_connector_named_by_a_number_that_may_be_a_configured_ones_is_not_scaled_under_either_policy():
    """Before: looked up by its exact name, it got the default policy (ceiling 10, e2-standard-4 allowed)
    where its own (by id) allows no machine move and a ceiling of 4: the move to e2-standard-4 was proposed."""
    evidence = saturated(name=BY_NUMBER)
    bundle = evidence.bundle()
    diagnosis = diagnose(bundle, DiagnosisSettings())
    assert diagnosis.signature is Signature.CONNECTOR_SATURATION and diagnosis.subject == BY_NUMBER
    bounds = Bounds(connectors=(ConnectorPolicy(name=CONNECTOR, max_instances_ceiling=4,
                                                allowed_machine_types=("e2-micro",)),))
    planned = plan(diagnosis, bundle, DiagnosisSettings(), bounds)
    assert planned.action is None, planned.reason
    assert "named by a project number" in planned.reason and CONNECTOR in planned.reason, planned.reason


def test_a_connector_named_by_a_number_no_policy_may_be_keeps_the_default_policy():
    evidence = saturated(name=BY_NUMBER)
    bundle = evidence.bundle()
    diagnosis = diagnose(bundle, DiagnosisSettings())
    other = CONNECTOR.replace("backend-conn", "other-conn")
    planned = plan(diagnosis, bundle, DiagnosisSettings(), Bounds(connectors=(ConnectorPolicy(name=other),)))
    assert planned.action == "scale_connector", planned.reason


def test_the_gate_refuses_a_scale_of_a_connector_named_by_a_number_a_configured_one_may_be():
    """Whatever planned it (an approve of an older proposal included): the write's bounds, at the gate."""
    violations = get_action("scale_connector").bounds_violations(params(target=BY_NUMBER),
                                                                 config(allow_one_way=True), T0)
    assert any("named by a project number" in v and CONNECTOR in v for v in violations), violations
    assert get_action("scale_connector").bounds_violations(params(), config(allow_one_way=True), T0) == []


# --- the sweep's later own writes, and an approve's re-read -----------------------------------


def _record(target: str, service: str, at_minutes: float, key: str) -> ActionRecord:
    at = T0 + timedelta(minutes=at_minutes)
    return ActionRecord(key=key, incident_id=f"i-{key}", action="scale_connector", target=target, service=service,
                        signature="connector_saturation", reversible=False, state=ActionState.PENDING, applied_at=at,
                        settle_at=at + timedelta(minutes=5), deadline_at=at + timedelta(minutes=30))


def test_a_later_write_on_the_connector_by_another_form_of_its_name_is_on_the_path():
    """The judged service's revision names the connector by a number that cannot be told from the later write's
    project id: the later write may have been on its path (before: not, and the minutes since were this
    change's alone)."""
    evidence = saturated(name=BY_NUMBER)
    bundle = evidence.bundle()
    record = _record(BY_NUMBER, bundle.service.name, 0, "a")
    later = _record(CONNECTOR, "projects/demo/locations/us-central1/services/other", 5, "b")
    assert judging.LATER_OWN_WRITES in judging.later_own_writes(record, bundle, [later])
    elsewhere = _record(CONNECTOR.replace("backend-conn", "other-conn"), later.service, 5, "c")
    assert judging.later_own_writes(record, bundle, [elsewhere]) == ""


def test_an_approve_refuses_when_a_service_not_weighed_now_names_the_connector_by_number():
    proposal = ProposalRecord.model_construct(target=HOST, service=STOREFRONT, on_behalf=[STOREFRONT],
                                              maybe_behind=[], action="scale_connector", users_of=HOST)
    behind = Users(services=(STOREFRONT,), looked_at=(STOREFRONT, CHECKOUT), maybe=(CHECKOUT,),
                   by_number=(CHECKOUT,))
    said = approval._moved_onto(proposal, behind, "")
    assert said.startswith(f"{CHECKOUT} may now use {HOST}") and "project number" in said, said
    assert approval._moved_onto(proposal, Users(services=(STOREFRONT,), looked_at=(STOREFRONT,)), "") == ""


def test_the_sweep_judges_a_managed_service_that_names_the_connector_by_number(monkeypatch):
    """A connector change's judgement: a managed service behind the connector by a number that cannot be told
    from its project (Users.by_number) is judged with the others (before: left out as not behind it, and a
    change could be `verified` on the others alone)."""
    from shared.remediation import verification
    from shared.remediation.sweep_budget import SweepBudget
    from tests.unit.fakes import MemoryStateStore
    from tests.unit.test_sweep_budget import START, _Adapters, _connector_change

    services = [f"projects/demo/locations/us-central1/services/s{i}" for i in range(3)]
    config, record, clock = _connector_change(services)
    monkeypatch.setattr(verification, "users_of", lambda *_a, **_k: Users(
        services=tuple(services[:2]), looked_at=tuple(services), maybe=(services[2],), by_number=(services[2],)))
    read: list[str] = []

    def health_of(self, record, service, *_a, **_k):
        read.append(service)
        return judging.Health(judging.HealthKind.HEALTHY, "healthy")

    monkeypatch.setattr(verification.Sweep, "_health_of", health_of)
    monkeypatch.setattr(verification.Sweep, "_bystanders", lambda self, *_a, **_k: ([], ""))

    class _Readers(_Adapters):
        def readers(self):
            return None

    sweep = verification.Sweep(config, _Readers(MemoryStateStore(), clock), SweepBudget(clock, 550, 450))
    sweep._health(record)
    assert read == services and clock.now() == START
