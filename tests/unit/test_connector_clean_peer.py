"""A revision that serves cleanly through the same connector in the same minutes is evidence against
the connector: a saturated connector (CPU-bound, at its throughput) delays or drops the packets of
every revision that routes through it alike. When the serving revisions split the traffic (a
gradual rollout, a canary) and only one of them fails while another on the same connector serves
its share cleanly, the failures are that revision's own, not the connector's: it is not ruled out
(it competes), but never scaled alone on them."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"


OTHER_CONNECTOR = "projects/demo/locations/us-central1/connectors/legacy-conn"


def split(new_per_minute: float, new_p99: float = 0.2, new_failing: float = 0, old_p99: float = 31,
          old_connector: str | None = None) -> Evidence:
    """NEW deployed at -25m takes 20 % (`new_per_minute` requests a minute, `new_failing` of them 503,
    p99 `new_p99` s); OLD keeps 80 % and from -8m hangs at `old_p99` s with a third of its requests
    503; both route through the one connector, newly at max instances with CPU 95 %; Cloud SQL up."""
    where = {"connector": old_connector} if old_connector else {}
    e = (Evidence().revision(OLD, -300, sql=(SQL,), **where).revision(NEW, -25, sql=(SQL,)).traffic(**{OLD: 80, NEW: 20})
         .requests(OLD, -90, 5, 40).latency(OLD, -90, -8, 0.2).requests(OLD, -8, 5, 20, code="503")
         .latency(OLD, -8, 5, old_p99).requests(NEW, -25, 5, new_per_minute).latency(NEW, -25, 5, new_p99)
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -9, 2)
         .connector_metric("instances", -9, 5, 3).connector_metric("cpu", -90, -9, 0.3)
         .connector_metric("cpu", -9, 5, 0.95).connector_metric("bytes", -90, 5, 2e6))
    return e.requests(NEW, -8, 5, new_failing, code="503") if new_failing else e


# situation -> the verdict, and the action planned
CASES = {
    "the old revision hangs while the canary on the same connector serves cleanly: not scaled": (
        dict(new_per_minute=12), Signature.INCONCLUSIVE, None),
    "the old revision hangs on another connector; the canary's connector is busy but carries it cleanly: not scaled": (
        dict(new_per_minute=12, old_connector=OTHER_CONNECTOR), Signature.INCONCLUSIVE, None),
    "the canary serves too few requests to say anything: the connector (unchanged)": (
        dict(new_per_minute=0.5), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "the canary hangs too: the connector (unchanged)": (
        dict(new_per_minute=12, new_p99=31), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "the canary fails too: the connector (unchanged)": (
        dict(new_per_minute=12, new_failing=6), Signature.CONNECTOR_SATURATION, "scale_connector"),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_a_revision_clean_through_the_same_connector(shape, signature, action):
    bundle = split(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE and "old_connector" in shape:
        # The failing revision's own connector is judged: not the one read, so unknown.
        assert f"{OLD} (80% of traffic" in result.summary and "connector legacy-conn, not read" in result.summary
    elif signature is Signature.INCONCLUSIVE:
        assert f"{NEW} served" in result.summary, result.summary


# --- a deploy that changed the path onto the connector ------------------------------------------


def deployed_onto(old: dict, new: dict) -> Evidence:
    """NEW, deployed at -10m with all traffic, reaches its VPC as `new` says, OLD (clean until then)
    as `old` says; from -9m the connector NEW routes through is at max instances with CPU 95 % and
    NEW hangs at 31 s with 40 % 503s."""
    return (Evidence().revision(OLD, -300, sql=(SQL,), **old).revision(NEW, -10, sql=(SQL,), **new)
            .traffic(**{NEW: 100}).requests(OLD, -90, -10, 40).latency(OLD, -90, -10, 0.2).requests(NEW, -10, 5, 30)
            .requests(NEW, -10, 5, 12, code="503").latency(NEW, -10, 5, 31).sql_up(-90, 5, 1)
            .connector(max_instances=3).connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
            .connector_metric("cpu", -90, -9, 0.3).connector_metric("cpu", -9, 5, 0.95)
            .connector_metric("bytes", -90, 5, 2e6))


DEPLOYS = {
    "a deploy moved the service onto a busy connector: the deploy's own, rolled back": dict(
        old=dict(connector=OTHER_CONNECTOR), new={}, signature=Signature.BAD_REVISION, action="rollback_traffic",
        names="from connector legacy-conn to connector backend-conn"),
    "a deploy moved the service from Direct VPC egress onto a busy connector: rolled back": dict(
        old=dict(connector=None, network_interfaces=("default/run-direct",)), new={},
        signature=Signature.BAD_REVISION, action="rollback_traffic", names="direct vpc egress"),
    "a deploy switched egress to all traffic through the same connector: both compete, the change named": dict(
        old=dict(egress="PRIVATE_RANGES_ONLY"), new=dict(egress="ALL_TRAFFIC"), signature=Signature.INCONCLUSIVE,
        action=None, names="egress from private_ranges_only to all_traffic"),
    "a deploy on the same path beside a saturated connector: both compete (unchanged)": dict(
        old={}, new={}, signature=Signature.INCONCLUSIVE, action=None, names="connector_saturation"),
}


@pytest.mark.parametrize("case", DEPLOYS.values(), ids=DEPLOYS.keys())
def test_a_deploy_that_changed_the_path_onto_the_connector(case):
    bundle = deployed_onto(case["old"], case["new"]).bundle()

    result = diagnose(bundle, S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, bundle, S).action == case["action"], result.summary
    assert case["names"] in result.summary.lower(), result.summary


# --- a split whose newest revision left the connector -------------------------------------------


def left_the_connector(new_share: int, new_path: dict, old_connector: str | None = None) -> Evidence:
    """NEW, deployed two days ago, takes `new_share` % and reaches its VPC as `new_path` says, serving
    cleanly; OLD keeps the rest through its connector and from -8m hangs at 31 s with a third of its
    requests 503, the connector newly at max instances with CPU 95 %; Cloud SQL up."""
    where = {"connector": old_connector} if old_connector else {}
    return (Evidence().revision(OLD, -3000, sql=(SQL,), **where).revision(NEW, -2880, sql=(SQL,), **new_path)
            .traffic(**{OLD: 100 - new_share, NEW: new_share})
            .requests(OLD, -90, 5, 40).latency(OLD, -90, -8, 0.2).requests(OLD, -8, 5, 20, code="503")
            .latency(OLD, -8, 5, 31).requests(NEW, -90, 5, 30).latency(NEW, -90, 5, 0.2)
            .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -9, 2)
            .connector_metric("instances", -9, 5, 3).connector_metric("cpu", -90, -9, 0.3)
            .connector_metric("cpu", -9, 5, 0.95).connector_metric("bytes", -90, 5, 2e6))


DIRECT = dict(connector=None, network_interfaces=("default/run-direct",))
# The failing traffic is OLD's: its path is judged (the connector when it is the one read, scaled).
LEFT = {
    "the newest half on Direct VPC egress, the older half through the connector": dict(
        e=left_the_connector(50, DIRECT), names=[f"{OLD} (50% of traffic", "connector backend-conn"],
        action="scale_connector"),
    "a fifth on Direct VPC egress in another network": dict(
        e=left_the_connector(20, dict(connector=None, network_interfaces=("apps-vpc/run-egress",))),
        names=[f"{OLD} (80% of traffic", "connector backend-conn"], action="scale_connector"),
    "the older revision through another connector (not the one read)": dict(
        e=left_the_connector(30, DIRECT, old_connector=OTHER_CONNECTOR),
        names=[f"{OLD} (70% of traffic) still routes through connector legacy-conn"], action=None),
    "the newest revision with no VPC access at all": dict(
        e=left_the_connector(40, dict(connector=None)),
        names=[f"{OLD} (60% of traffic", "connector backend-conn"], action="scale_connector"),
}


@pytest.mark.parametrize("case", LEFT.values(), ids=LEFT.keys())
def test_a_split_whose_newest_revision_left_the_connector_never_says_there_is_none(case):
    """The newest serving revision left the connector, but an older one still takes its share of the
    traffic through it, and fails: the answer never says there is "no connector to scale" nor that "the
    serving revision" uses none; it names the revision and connector still on that path, and judges
    that path (the connector scaled when it is the one read)."""
    bundle = case["e"].bundle()

    result = diagnose(bundle, S)

    assert result.signature is not Signature.HEALTHY
    assert plan(result, bundle, S).action == case["action"], result.summary
    assert "no connector to scale" not in result.summary, result.summary
    assert "the serving revision does not use a VPC connector" not in result.summary, result.summary
    for words in case["names"]:
        assert words in result.summary, result.summary


def test_every_serving_revision_on_direct_egress_still_says_no_connector_to_scale():
    bundle = left_the_connector(100, DIRECT).bundle()
    assert "no connector to scale" in diagnose(bundle, S).summary
