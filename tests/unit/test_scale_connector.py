"""scale_connector: its bounds in words, the one-way approval, and how planning chooses the change."""
from __future__ import annotations

import pytest

from shared.remediation.actions import get_action
from shared.remediation.actions.scale_connector import MACHINE_RANK, ScaleConnectorParams, connector_state, gcloud_command
from shared.config import MACHINE_TYPES, Bounds, ConnectorPolicy, DiagnosisSettings, parse_config
from shared.diagnosis.diagnose import diagnose
from shared.errors import NotShownAfterWriteError, StaleEvidenceError
from shared.diagnosis.evidence import Connector
from shared.remediation.planning import advised, plan
from shared.commands.diagnose import report_of
from shared.diagnosis.signatures import Signature

from tests.unit.builders import CONNECTOR, SQL, T0, Evidence

ACTION = get_action("scale_connector")
S = DiagnosisSettings()
OLD = "backend-00001-abc"


def config(**policy):
    data = {"project": "demo", "outcomes_topic": "projects/demo/topics/runwarden-outcomes", "mode": "enforce"}
    if policy:
        data["bounds"] = {"connectors": [{"name": CONNECTOR, **policy}]}
    return parse_config(data)


def params(**changes) -> ScaleConnectorParams:
    """A sound request: raise max 3 -> 5 on an e2-micro connector."""
    values = dict(target=CONNECTOR, from_min_instances=2, from_max_instances=3, from_machine_type="e2-micro",
                  min_instances=2, max_instances=5, machine_type="e2-micro", reason="at max instances (3)")
    return ScaleConnectorParams(**{**values, **changes})


# --- the action's declarations ---------------------------------------------------------------


def test_declarations():
    assert ACTION.name == "scale_connector" and ACTION.reversible is False
    assert ACTION.iam_permissions == ("vpcaccess.connectors.get", "vpcaccess.connectors.update",
                                      "vpcaccess.operations.get")
    assert set(MACHINE_RANK) == set(MACHINE_TYPES)  # every type the API accepts has a rank


# --- bounds ----------------------------------------------------------------------------------

BOUNDS = {
    "raising max within the ceiling": dict(p={}, expect=[]),
    "moving e2-micro to e2-standard-4": dict(p=dict(max_instances=3, machine_type="e2-standard-4"), expect=[]),
    "raising min and max together": dict(p=dict(min_instances=3, max_instances=6), expect=[]),
    "max above the policy's ceiling": dict(
        p=dict(max_instances=8), policy=dict(max_instances_ceiling=6), expect=["above the policy's ceiling of 6"]),
    "max above the API's 10": dict(
        p=dict(max_instances=11), expect=["max_instances 11 is outside 3-10", "above the policy's ceiling of 10"]),
    "min going down": dict(
        p=dict(from_min_instances=3, min_instances=2), expect=["min_instances would go down from 3 to 2"]),
    "max going down": dict(
        p=dict(from_max_instances=6, max_instances=5), expect=["max_instances would go down from 6 to 5"]),
    "machine type downgrade": dict(
        p=dict(from_machine_type="e2-standard-4", machine_type="e2-micro"),
        expect=["downgraded from e2-standard-4 to e2-micro"]),
    "min below 2": dict(p=dict(from_min_instances=1, min_instances=1), expect=["min_instances 1 is outside 2-9"]),
    "max below 3": dict(p=dict(from_max_instances=2, max_instances=2, machine_type="e2-standard-4"),
                        expect=["max_instances 2 is outside 3-10"]),
    "min not below max": dict(p=dict(min_instances=5, max_instances=5), expect=["min_instances 5 is not below"]),
    "a machine type the policy does not allow": dict(
        p=dict(from_machine_type="f1-micro", machine_type="e2-standard-4", max_instances=3),
        policy=dict(allowed_machine_types=["f1-micro", "e2-micro"]),
        expect=["machine type e2-standard-4 is not allowed for backend-conn (allowed: f1-micro, e2-micro)"]),
    "a machine type the API does not know": dict(
        p=dict(machine_type="n1-standard-1"), expect=["n1-standard-1 is not a connector machine type"]),
    "nothing changing": dict(p=dict(max_instances=3), expect=["nothing changes"]),
    "not a connector": dict(p=dict(target="projects/demo/locations/us-central1/services/backend"),
                            expect=["is not a connector name"]),
}


@pytest.mark.parametrize("case", BOUNDS.values(), ids=BOUNDS.keys())
def test_bounds(case):
    violations = ACTION.bounds_violations(params(**case["p"]), config(**case.get("policy", {})), T0)
    if not case["expect"]:
        assert violations == []
    for words in case["expect"]:
        assert any(words in v for v in violations), violations


def test_one_way_is_not_a_bound_but_needs_approval():
    p = params()
    assert ACTION.bounds_violations(p, config(), T0) == []
    assert ACTION.needs_approval(p, config()) == (
        "scaling a connector is one-way and the policy for backend-conn does not allow_one_way")
    assert ACTION.needs_approval(p, config(allow_one_way=True)) == ""


# --- preview, apply against a recording fake, notes, the gcloud command -----------------------


class FakeVpcAccess:
    """The VPC Access port: `live` is what a read answers (by default the connector as `params()`
    planned on: e2-micro, 2-3 instances); `result` what the update answers."""

    def __init__(self, result: Connector | None = None, live: Connector | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.result = result
        self.live = live or Connector(name=CONNECTOR, state="READY", min_instances=2, max_instances=3)

    def get_connector(self, name):
        return self.live

    def update_connector(self, name, *, min_instances, max_instances, machine_type=None):
        self.calls.append((name, {"min_instances": min_instances, "max_instances": max_instances,
                                  "machine_type": machine_type}))
        return self.result or Connector(name=name, state="READY", min_instances=min_instances,
                                        max_instances=max_instances, machine_type=machine_type or "e2-micro")


class Adapters:
    def __init__(self, vpcaccess) -> None:
        self.vpcaccess = vpcaccess


BEFORE = connector_state(Connector(name=CONNECTOR, state="READY", min_instances=2, max_instances=3))


def test_preview_is_the_before_state_with_the_new_values():
    assert ACTION.preview(params(), BEFORE) == {"connector": {
        "name": CONNECTOR, "state": "READY", "machine_type": "e2-micro", "min_instances": 2, "max_instances": 5}}


def test_apply_sends_no_machine_type_when_it_does_not_change():
    vpc = FakeVpcAccess()
    after = ACTION.apply(params(), Adapters(vpc))
    assert vpc.calls == [(CONNECTOR, {"min_instances": 2, "max_instances": 5, "machine_type": None})]
    assert after == {"connector": {"name": CONNECTOR, "state": "READY", "machine_type": "e2-micro",
                                   "min_instances": 2, "max_instances": 5}}


@pytest.mark.parametrize("live, shown", [
    # A person's change between the plan's read (an approval's proposal, an alert's evidence) and the patch.
    (dict(max_instances=4), "e2-micro 2-4 instances"),
    (dict(machine_type="e2-standard-4"), "e2-standard-4 2-3 instances"),
    (dict(min_instances=3, max_instances=4), "e2-micro 3-4 instances"),
    # Even the planned result itself: someone else made it, and the decision was about another connector.
    (dict(max_instances=5), "e2-micro 2-5 instances"),
])
def test_apply_on_a_connector_changed_since_the_plan_writes_nothing(live, shown):
    vpc = FakeVpcAccess(live=Connector(**{"name": CONNECTOR, "state": "READY", "min_instances": 2,
                                          "max_instances": 3, **live}))
    with pytest.raises(StaleEvidenceError, match=f"is now {shown}, not the e2-micro 2-3") as caught:
        ACTION.apply(params(), Adapters(vpc))
    assert caught.value.code == "TARGET_CHANGED"
    assert vpc.calls == []


def test_apply_leaves_a_busy_connector_to_the_patch():
    """UPDATING with the planned sizes: the patch is sent, and its refusal says busy (transient)."""
    vpc = FakeVpcAccess(live=Connector(name=CONNECTOR, state="UPDATING", min_instances=2, max_instances=3))
    ACTION.apply(params(), Adapters(vpc))
    assert len(vpc.calls) == 1


@pytest.mark.parametrize("after, shown", [
    (Connector(name=CONNECTOR, state="READY", min_instances=2, max_instances=3), "has 2-3 instances, not 2-5"),
    # A machine type the patch's mask left alone: another hand's, landing as the update ended.
    (Connector(name=CONNECTOR, state="READY", min_instances=2, max_instances=5, machine_type="e2-standard-4"),
     "is e2-standard-4, not e2-micro"),
    (Connector(name=CONNECTOR, state="ERROR", min_instances=2, max_instances=5), "is in state ERROR"),
])
def test_an_update_whose_read_back_does_not_show_it_has_an_unknown_outcome_not_a_failure(after, shown):
    """Not a PermanentError (the gate would give the claim back and answer `failed`, leaving a write
    that may have taken on no record): NotShownAfterWriteError, which the gate records and escalates."""
    with pytest.raises(NotShownAfterWriteError, match=shown) as caught:
        ACTION.apply(params(), Adapters(FakeVpcAccess(after)))
    assert "another hand" in str(caught.value)


COMMAND = "gcloud compute networks vpc-access connectors update backend-conn --region=us-central1"
GCLOUD = {
    "max only": (params(), f"{COMMAND} --min-instances=2 --max-instances=5"),
    "machine type": (params(max_instances=3, machine_type="e2-standard-4"),
                     f"{COMMAND} --min-instances=2 --max-instances=3 --machine-type=e2-standard-4"),
}


@pytest.mark.parametrize("p, command", GCLOUD.values(), ids=GCLOUD.keys())
def test_gcloud_command(p, command):
    assert gcloud_command(p) == command


def test_notes_say_the_change_is_one_way():
    notes = ACTION.notes(params())
    assert "one-way" in notes[0] and "backend-conn" in notes[0]
    assert any(gcloud_command(params()) in n for n in notes)


# --- planning --------------------------------------------------------------------------------


def saturated(machine_type="e2-micro", max_instances=3, cpu=0.95, state="READY", sql=True,
              bytes_per_second=2e6, name=CONNECTOR, instances=None) -> Evidence:
    """One long-running revision answering 503s and hanging at 31 s; the connector at its max
    (or at `instances`)."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), connector=name).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
         .requests(OLD, -15, 5, 20, code="503").latency(OLD, -15, 5, 31)
         .connector(machine_type=machine_type, max_instances=max_instances, state=state, name=name)
         .connector_metric("instances", -20, 5, max_instances if instances is None else instances)
         .connector_metric("cpu", -20, 5, cpu)
         .connector_metric("bytes", -20, 5, bytes_per_second))
    return e.sql_up(-20, 5, 1) if sql else e


BANDWIDTH_BOUND = 120e6   # 960 Mbps: at least 80% of an e2-micro connector's 1000 Mbps at 10 instances


def planned(evidence: Evidence, **policy):
    b = evidence.bundle()
    diagnosis = diagnose(b, S)
    assert diagnosis.signature is Signature.CONNECTOR_SATURATION, diagnosis.summary
    return plan(diagnosis, b, S, Bounds(connectors=(ConnectorPolicy(name=evidence.conn.name, **policy),)))


# A connector name may hold the words of a stress sign (names are lowercase letters, digits and hyphens:
# gcloud's "connectors create"), and the diagnosis's summary names the connector.
THROUGHPUT_NAMED = CONNECTOR.replace("backend-conn", "throughput-conn")


PLANS = {
    "CPU-bound e2-micro moves to e2-standard-4, keeping min and max": dict(
        e=saturated(), expect=("e2-standard-4", 2, 3), reason="CPU-bound e2-micro"),
    "CPU-bound f1-micro moves to e2-standard-4": dict(
        e=saturated(machine_type="f1-micro"), expect=("e2-standard-4", 2, 3), reason="CPU-bound f1-micro"),
    "at max without CPU stress raises max by the step": dict(
        e=saturated(cpu=0.3), expect=("e2-micro", 2, 5), reason="at max instances (3)"),
    "a connector named for throughput, at max without CPU stress, is at max instances": dict(
        e=saturated(cpu=0.3, name=THROUGHPUT_NAMED), expect=("e2-micro", 2, 5), reason="at max instances (3)"),
    "CPU-bound, but the policy does not allow e2-standard-4: raise max": dict(
        e=saturated(), policy=dict(allowed_machine_types=("e2-micro",)), expect=("e2-micro", 2, 5)),
    "already e2-standard-4: raise max": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=6), expect=("e2-standard-4", 2, 8)),
    "the step is capped at the policy's ceiling": dict(
        e=saturated(cpu=0.3, max_instances=5), policy=dict(max_instances_ceiling=6), expect=("e2-micro", 2, 6)),
    "throughput-bound e2-micro at the ceiling of 10 moves to e2-standard-4": dict(
        e=saturated(cpu=0.3, max_instances=10, bytes_per_second=BANDWIDTH_BOUND), expect=("e2-standard-4", 2, 10),
        reason="throughput-bound e2-micro at its max instances"),
    "throughput-bound e2-micro at the policy's ceiling moves to e2-standard-4": dict(
        e=saturated(cpu=0.3, max_instances=6, bytes_per_second=BANDWIDTH_BOUND * 0.6),
        policy=dict(max_instances_ceiling=6), expect=("e2-standard-4", 2, 6)),
    "throughput-bound below the ceiling raises max first (the smaller change)": dict(
        e=saturated(cpu=0.3, max_instances=6, bytes_per_second=BANDWIDTH_BOUND * 0.6), expect=("e2-micro", 2, 8)),
    "a bigger step from the policy": dict(
        e=saturated(cpu=0.3), policy=dict(max_instances_step=4), expect=("e2-micro", 2, 7)),
    "CPU-bound e2-micro below its max still moves to e2-standard-4 (the machine is the limit)": dict(
        e=saturated(max_instances=6, instances=3), expect=("e2-standard-4", 2, 6), reason="CPU-bound e2-micro"),
    "CPU-bound e2-standard-4 that reached its max in some minute raises max": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=6, instances=6), expect=("e2-standard-4", 2, 8)),
}


@pytest.mark.parametrize("case", PLANS.values(), ids=PLANS.keys())
def test_planning_chooses_the_change(case):
    proposal = planned(case["e"], **case.get("policy", {}))
    assert proposal.action == "scale_connector", proposal.reason
    p = proposal.params
    assert (p.machine_type, p.min_instances, p.max_instances) == case["expect"]
    assert (p.from_machine_type, p.from_min_instances) == (case["e"].conn.machine_type, 2)
    assert proposal.before == connector_state(case["e"].conn)
    assert proposal.targets == [case["e"].conn.name]
    if "reason" in case:
        assert p.reason == case["reason"]
    assert ACTION.bounds_violations(p, config(**case.get("policy", {})), T0) == []  # plans stay inside bounds


NO_PLANS = {
    "e2-standard-4 at the API's ceiling of 10": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=10),
        why=["ceiling of 10 max instances, already e2-standard-4", "a person must decide"]),
    "e2-micro at the policy's ceiling, CPU not the bottleneck": dict(
        e=saturated(cpu=0.3, max_instances=6), policy=dict(max_instances_ceiling=6),
        why=["ceiling of 6", "neither CPU nor throughput is the bottleneck", "a person must decide"]),
    "throughput-bound e2-micro at the ceiling, e2-standard-4 not allowed": dict(
        e=saturated(cpu=0.3, max_instances=10, bytes_per_second=BANDWIDTH_BOUND),
        policy=dict(allowed_machine_types=("e2-micro",)), why=["does not allow e2-standard-4"]),
    "CPU-bound e2-micro at the ceiling, e2-standard-4 not allowed": dict(
        e=saturated(max_instances=10), policy=dict(allowed_machine_types=("e2-micro",)),
        why=["does not allow e2-standard-4"]),
    "a connector named for throughput at the policy's ceiling, neither CPU nor throughput the bottleneck": dict(
        e=saturated(cpu=0.3, max_instances=6, name=THROUGHPUT_NAMED), policy=dict(max_instances_ceiling=6),
        why=["ceiling of 6", "neither CPU nor throughput is the bottleneck", "a person must decide"]),
    # The same words as the command path's (the v1 Connector.State docstring, what to do), not "only a
    # READY connector can be updated", cited nowhere and saying neither.
    "the connector is mid-update": dict(e=saturated(state="UPDATING"), why=[
        "is UPDATING (VPC Access: \"The connector is being updated\"): no scale planned; another change of it is "
        "under way, and it is scaled only once READY: see it with runwarden status --target "
        f"{CONNECTOR}, and if it is still saturated then, a notification of this incident that arrives once it "
        "is READY plans the scale again (Cloud Monitoring repeats one only at its policy's renotifyInterval, if "
        "set); without one, scale it with a scale_connector command"]),
    # A manual scale of a connector whose policy lacks allow_one_way is an operator's decision
    # (shared/commands/connector.py): the advice says who must send it, and only then.
    "mid-update, the policy leaves the one-way change to a person": dict(e=saturated(state="UPDATING"), why=[
        "scale it with a scale_connector command sent by a principal in operators, as its requested_by (the "
        "runwarden CLI's --as PRINCIPAL; without it, the active gcloud account): only operators may "
        f"scale_connector a connector whose policy lacks allow_one_way (as {CONNECTOR.rsplit('/', 1)[-1]}'s does): "
        "that one-way change is a person's decision"]),
    "being created, more instances to give": dict(
        e=saturated(state="CREATING", max_instances=4), policy=dict(max_instances_ceiling=8), why=[
            "scale it with a scale_connector command sent by a principal in operators, as its requested_by"]),
    "mid-update, the policy allows the one-way change": dict(
        e=saturated(state="UPDATING"), policy=dict(allow_one_way=True),
        why=["without one, scale it with a scale_connector command"], unsaid=["operators", "requested_by"]),
    "the connector is being created": dict(e=saturated(state="CREATING"), why=[
        "is CREATING (VPC Access: \"An Insert operation is in progress. Transient condition\"): no scale planned"]),
    "the connector is in ERROR": dict(e=saturated(state="ERROR"), why=[
        "is ERROR (VPC Access: \"Connector is in a bad state, manual deletion recommended\"): no scale planned; "
        "it cannot be scaled in that state; a person must look at it first"]),
    # The instance count never reached the max it has: the max is not what holds the connector back,
    # so raising it changes nothing (a CPU-bound shared-core machine still moves to e2-standard-4).
    "CPU-bound e2-standard-4 whose instances stayed below its max": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=6, instances=3),
        why=["peaked at 3 of its 6 max instances", "raising the max changes nothing", "a person must decide"]),
    "CPU-bound e2-standard-4 one instance short of its max": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=4, instances=3),
        why=["peaked at 3 of its 4 max instances", "raising the max changes nothing"]),
    "CPU-bound e2-micro below its max, e2-standard-4 not allowed": dict(
        e=saturated(max_instances=5, instances=2), policy=dict(allowed_machine_types=("e2-micro",)),
        why=["peaked at 2 of its 5 max instances", "raising the max changes nothing",
             "does not allow e2-standard-4"]),
    "CPU-bound f1-micro below its max, only shared-core machines allowed": dict(
        e=saturated(machine_type="f1-micro", max_instances=8, instances=5),
        policy=dict(allowed_machine_types=("f1-micro", "e2-micro")), why=["peaked at 5 of its 8 max instances"]),
    "a ceiling below what the connector already has is named as such, never as reached": dict(
        e=saturated(cpu=0.3, max_instances=8), policy=dict(max_instances_ceiling=6),
        why=["at 8 max instances, above its policy's ceiling of 6", "raise it to at least 8",
             "a person must decide"]),
}


@pytest.mark.parametrize("case", NO_PLANS.values(), ids=NO_PLANS.keys())
def test_planning_leaves_it_to_a_person(case):
    proposal = planned(case["e"], **case.get("policy", {}))
    assert proposal.action is None and proposal.targets == []
    for words in case["why"]:
        assert words in proposal.reason, proposal.reason
    for words in case.get("unsaid", ()):
        assert words not in proposal.reason, proposal.reason


def test_planning_needs_the_connector_the_diagnosis_names():
    b = saturated().bundle()
    diagnosis = diagnose(b, S)
    other = diagnosis.model_copy(update={"subject": CONNECTOR.replace("backend-conn", "other-conn")})
    assert "was not read with the evidence" in plan(other, b, S).reason
    unread = b.model_copy(update={"connector": None})
    assert plan(diagnosis, unread, S).action is None
    assert "names no connector" in plan(diagnosis.model_copy(update={"subject": None}), b, S).reason


def test_planning_keeps_the_existing_refusals():
    b = saturated(sql=False).bundle()  # Cloud SQL's state unknown: matched at 0.6, below the bar
    proposal = plan(diagnose(b, S), b, S)
    assert proposal.action is None and "below act_min_confidence" in proposal.reason


def test_three_argument_plan_uses_the_default_policy():
    b = saturated().bundle()
    proposal = plan(diagnose(b, S), b, S)
    assert proposal.params.machine_type == "e2-standard-4"
    assert ACTION.needs_approval(proposal.params, config()) != ""  # defaults: proposed, never applied


def test_a_claim_on_a_target_that_is_no_connector_can_never_exist_so_it_is_not_read():
    """The gate skips reading scale_connector's claim on a service (`can_claim`) because its bounds
    refuse any target that is no connector's name, before any claim is taken: both are checked
    here, so the read can only be dropped while the refusal stands."""
    from shared.remediation.guardrails import Gate
    from shared.clock import FixedClock
    from tests.unit.fakes import MemoryStateStore

    service = "projects/demo/locations/us-central1/services/backend"
    assert ACTION.can_claim(CONNECTOR) and not ACTION.can_claim(service)
    for target in (service, "backend", "projects/demo/locations/us-central1/connectors/c/x"):
        refused = ACTION.bounds_violations(params(target=target), config(allow_one_way=True), T0)
        assert not ACTION.can_claim(target) and any("is not a connector name" in v for v in refused)
    gate = Gate(config(), MemoryStateStore(), FixedClock(T0), owner="attempt-1")
    assert [key.rsplit("|", 1)[1] for _, key in gate.claim_reads("inc-1", service)] == [
        "restore_traffic", "rollback_traffic"]
    assert [key.rsplit("|", 1)[1] for _, key in gate.claim_reads("inc-1", CONNECTOR)] == [
        "restore_traffic", "rollback_traffic", "scale_connector"]


# --- the diagnosis's recommendation agrees with what planning does ------------------------------

# A person reads the diagnosis's recommendation and the outcome's reason side by side: where planning
# refuses for a fact the diagnosis read too (the instances' peak below the max, a connector not READY),
# the recommendation says what planning says, never to do what planning will not. said: words in both
# the recommendation and planning's reason; unsaid: words the recommendation must not hold.
AGREES = {
    "CPU-bound e2-standard-4 whose instances peaked at 3 of 6": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=6, instances=3),
        said=["peaked at 3 of its 6 max instances", "raising the max changes nothing"],
        unsaid=["max instances above"]),
    "CPU-bound e2-standard-4 one instance short of its 4": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=4, instances=3),
        said=["peaked at 3 of its 4 max instances"], unsaid=["max instances above"]),
    "CPU-bound e2-micro at 2 of 5, e2-standard-4 not allowed": dict(
        e=saturated(max_instances=5, instances=2), policy=dict(allowed_machine_types=("e2-micro",)),
        said=["peaked at 2 of its 5 max instances"], unsaid=["max instances above"], rec=["move backend-conn from"]),
    "UPDATING at its max: scaled once READY": dict(
        e=saturated(cpu=0.3, state="UPDATING"), said=["is UPDATING", "once READY"],
        unsaid=[]),
    "CREATING, CPU-bound e2-micro": dict(
        e=saturated(state="CREATING", max_instances=4), said=["is CREATING", "once READY"], unsaid=[]),
    "ERROR at its max: a person looks at it first": dict(
        e=saturated(cpu=0.3, state="ERROR"), said=["is ERROR", "a person must look at it first"],
        unsaid=["raise backend-conn max", "move backend-conn"]),
    # Where planning acts, the recommendation is the same step as before.
    "at its max, READY, not CPU-bound: raise the max": dict(
        e=saturated(cpu=0.3), acts=True, rec=["raise backend-conn max instances above 3 (ceiling 10)"], said=[],
        unsaid=["peaked"]),
    "CPU-bound e2-micro below its max: move it": dict(
        e=saturated(max_instances=6, instances=4), acts=True, said=[],
        rec=["move backend-conn from e2-micro to e2-standard-4"], unsaid=["max instances above"]),
}


def diagnosed_and_planned(case):
    """A table row's diagnosis (connector_saturation) and planning's answer under the row's policy."""
    b = case["e"].bundle()
    diagnosis = diagnose(b, S)
    assert diagnosis.signature is Signature.CONNECTOR_SATURATION, diagnosis.summary
    return diagnosis, plan(diagnosis, b, S, Bounds(connectors=(ConnectorPolicy(name=CONNECTOR, **case.get("policy", {})),)))


@pytest.mark.parametrize("case", AGREES.values(), ids=AGREES.keys())
def test_the_recommendation_says_what_planning_does(case):
    diagnosis, proposal = diagnosed_and_planned(case)
    advice = diagnosis.recommendation or ""
    assert (proposal.action is not None) is case.get("acts", False), proposal.reason
    for words in case["said"]:
        assert words in advice and words in proposal.reason, (advice, proposal.reason)
    for words in case.get("rec", ()):
        assert words in advice, advice
    for words in case["unsaid"]:
        assert words not in advice, advice


# --- the outcome's recommendation agrees with the policy planning read -----------------------------

# The diagnosis does not read the policy; planning does. Where the policy turns down the step the diagnosis
# recommends (its ceiling reached or below the max, a machine type it does not allow), the outcome carries
# planning's refusal as its recommendation, never the step refused. said: words the outcome's recommendation
# and planning's reason both hold; unsaid: words the outcome's recommendation must not hold. kept: the
# diagnosis's own recommendation stands (planning acts, or a fact both read already answers).
POLICY_REFUSES = {
    "e2-standard-4 at 6, the policy's ceiling 6": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=6, cpu=0.3), policy=dict(max_instances_ceiling=6),
        said=["policy's ceiling of 6"], unsaid=["max instances above 6"]),
    "e2-micro at 4, the policy's ceiling 4, not CPU-bound": dict(
        e=saturated(max_instances=4, cpu=0.3), policy=dict(max_instances_ceiling=4),
        said=["policy's ceiling of 4", "raise the policy's ceiling"], unsaid=["max instances above 4"]),
    "e2-standard-4 at 8, above the policy's ceiling 5": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=8, cpu=0.3), policy=dict(max_instances_ceiling=5),
        said=["above its policy's ceiling of 5"], unsaid=["max instances above 8"]),
    "CPU-bound e2-micro at 6, ceiling 6, e2-standard-4 not allowed": dict(
        e=saturated(max_instances=6), policy=dict(max_instances_ceiling=6, allowed_machine_types=("e2-micro",)),
        said=["does not allow e2-standard-4"], unsaid=["move backend-conn from", "max instances above"]),
    "CPU-bound f1-micro at its max 3, ceiling 3, only f1-micro allowed": dict(
        e=saturated(machine_type="f1-micro"), policy=dict(max_instances_ceiling=3, allowed_machine_types=("f1-micro",)),
        said=["does not allow e2-standard-4"], unsaid=["move backend-conn from", "max instances above"]),
    "CPU-bound e2-micro at 2 of 5, e2-standard-4 not allowed": dict(
        e=saturated(max_instances=5, instances=2), policy=dict(allowed_machine_types=("e2-micro",)),
        said=["peaked at 2 of its 5 max instances", "does not allow e2-standard-4"],
        unsaid=["move backend-conn from"]),
    # Planning acts, but takes another step than the one recommended, the policy ruling that one out: the
    # outcome says what planning does and why the recommended step was not taken (told: words in the outcome's
    # recommendation alone).
    "CPU-bound e2-micro at its max 3, only e2-micro allowed: raised, not moved": dict(
        e=saturated(), policy=dict(allowed_machine_types=("e2-micro",)), acts=True,
        said=["raise max instances from 3 to 5"],
        told=["not moved to e2-standard-4", "allows only e2-micro (bounds.connectors allowed_machine_types)"],
        unsaid=["move backend-conn from"]),
    "CPU-bound f1-micro at its max 3, f1-micro and e2-micro allowed: raised, not moved": dict(
        e=saturated(machine_type="f1-micro"), policy=dict(allowed_machine_types=("f1-micro", "e2-micro")),
        acts=True, said=["raise max instances from 3 to 5"],
        told=["not moved to e2-standard-4", "allows only f1-micro, e2-micro"], unsaid=["move backend-conn from"]),
    "CPU-bound e2-micro at its max 5, ceiling 8, step 2, only e2-micro allowed: raised to 7": dict(
        e=saturated(max_instances=5), acts=True,
        policy=dict(max_instances_ceiling=8, max_instances_step=2, allowed_machine_types=("e2-micro",)),
        said=["raise max instances from 5 to 7"], told=["not moved to e2-standard-4", "allows only e2-micro"],
        unsaid=["move backend-conn from"]),
    "throughput-bound e2-micro at the policy's ceiling 6: moved, not raised": dict(
        e=saturated(cpu=0.3, max_instances=6, bytes_per_second=BANDWIDTH_BOUND * 0.6),
        policy=dict(max_instances_ceiling=6), acts=True, said=["move from e2-micro to e2-standard-4"],
        told=["max instances not raised above 6", "the policy's ceiling of 6 (bounds.connectors "
              "max_instances_ceiling)"], unsaid=["raise backend-conn max instances above"]),
    "throughput-bound e2-micro at 7, above the policy's ceiling 6: moved, not raised": dict(
        e=saturated(cpu=0.3, max_instances=7, bytes_per_second=BANDWIDTH_BOUND * 0.7),
        policy=dict(max_instances_ceiling=6), acts=True, said=["move from e2-micro to e2-standard-4"],
        told=["max instances not raised above 7", "is above the policy's ceiling of 6"],
        unsaid=["raise backend-conn max instances above"]),
    # Controls: planning acts as the diagnosis recommends, or refuses for a fact the diagnosis read too.
    "at its max 3, default policy: raised": dict(
        e=saturated(cpu=0.3), acts=True, kept=True, said=[], unsaid=[]),
    "at 6 under a ceiling of 8: raised to 8": dict(
        e=saturated(machine_type="e2-standard-4", max_instances=6, cpu=0.3), policy=dict(max_instances_ceiling=8),
        acts=True, kept=True, said=[], unsaid=[]),
    "CPU-bound e2-micro, e2-standard-4 allowed: moved": dict(
        e=saturated(), acts=True, kept=True, said=[], unsaid=[]),
    "UPDATING at its max 4, ceiling 4: scaled once READY": dict(
        e=saturated(max_instances=4, cpu=0.3, state="UPDATING"), policy=dict(max_instances_ceiling=4), kept=True,
        said=["is UPDATING", "once READY"], unsaid=[]),
}


@pytest.mark.parametrize("case", POLICY_REFUSES.values(), ids=POLICY_REFUSES.keys())
def test_the_outcome_recommends_nothing_the_policy_refuses(case):
    diagnosis, proposal = diagnosed_and_planned(case)
    advice = advised(report_of(diagnosis), proposal).recommendation
    assert (proposal.action is not None) is case.get("acts", False), proposal.reason
    if case.get("kept"):
        assert advice == diagnosis.recommendation
    for words in case["said"]:
        assert words in advice and words in proposal.reason, (advice, proposal.reason)
    for words in case.get("told", ()):
        assert words in advice, advice
    for words in case["unsaid"]:
        assert words not in advice, advice
