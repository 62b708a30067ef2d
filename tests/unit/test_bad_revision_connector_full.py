"""A canary whose new connections time out dialling the database while the shared connector is full: the
connector's failure, the canary a bystander (its instances alone open new connections, the stable pool answers
on the ones it holds), unless the deploy changed what it dials or filled the connector itself. A connector
already near full before the deploy (or not read then, or more requests since) holds the rollback: sending the
traffic back leaves it full, so a person chooses. A connector idle until the canary arrived, then full on the same
load, is held too: the connector is shared, and a neighbour's surge on it looks the same as the canary's own load
from this service's requests. A different address, a connector with headroom or at a normal CPU leaves the rollback
standing; a connector being changed (not READY) holds it, unless the deploy moved what the canary dials."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import FIVE_XX_RATIO, SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "pricing-00051-tuv", "pricing-00052-wem"
LATENCY = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_latencies",
                       comparison="COMPARISON_GT", threshold=3000, policy="pricing p99 latency")
DB = "10.20.0.3"
ELSEWHERE = "10.20.0.9"


def canary(*, max_instances: int = 3, cpu: float = 0.95, dialled: str = DB, old_host: str = "", new_host: str = "",
           old_dials: bool = False, share: int = 2, failing: str = "5xx", before: float | None = 0.95,
           read_from: int = -90, full_since: int = -16, load: float = 1.0, state: str = "READY") -> Evidence:
    """OLD (6 days) and NEW (13 min ago, `share` % of the split) on the same connector and Cloud SQL instance. The
    connector, read from `read_from` min, runs 2 instances at 30 % until `full_since`, then at CPU p99 `before` until
    -12m (3 instances of `max_instances` from `before` 0.72 up, else 2; `None`: 2 at 30 %, idle until the canary),
    and from -12m 3 at `cpu`; it is in `state`.
    NEW's requests fail (`failing`: 60 % 503, or slow at 24 s) and it logs 5 dials a minute that timed out to
    `dialled`; OLD answers in 120 ms, logging the same dials when `old_dials`. The service serves 1500 requests a
    minute, `load` times that from the deploy on. `old_host`/`new_host`: each revision's DB_HOST, unset when ""."""
    per_minute = 1500
    new, old = per_minute * load * share / 100, per_minute * load * (100 - share) / 100
    then = 0.3 if before is None else before
    e = (Evidence().revision(OLD, -6 * 24 * 60, sql=(SQL,), plain_env=(("DB_HOST", old_host),) if old_host else ())
         .revision(NEW, -13, sql=(SQL,), plain_env=(("DB_HOST", new_host),) if new_host else ())
         .traffic(**{OLD: 100 - share, NEW: share})
         .requests(OLD, -90, -13, per_minute).requests(OLD, -13, 5, old).latency(OLD, -90, 5, 0.12)
         .connector(max_instances=max_instances, state=state)
         .connector_metric("instances", read_from, -12, 2)
         .connector_metric("instances", max(read_from, full_since), -12, 3 if then >= 0.72 else 2)
         .connector_metric("instances", -12, 5, 3).connector_metric("cpu", read_from, -12, 0.3)
         .connector_metric("cpu", max(read_from, full_since), -12, then).connector_metric("cpu", -12, 5, cpu)
         .connector_metric("bytes", read_from, 5, 2e6).sql_up(-90, 5, 1))
    if failing == "5xx":
        e = e.requests(NEW, -13, 5, new * 0.4).requests(NEW, -13, 5, new * 0.6, code="503").latency(NEW, -13, 5, 10.0)
    else:
        e = e.requests(NEW, -13, 5, new).latency(NEW, -13, 5, 24.0)
    for m in range(-11, 1):
        e = e.log(m, f"dial tcp {dialled}:5432: i/o timeout", NEW, count=5)
        if old_dials:
            e = e.log(m, f"dial tcp {dialled}:5432: i/o timeout", OLD, count=2)
    return e


def run(e: Evidence, failing: str):
    bundle = e.bundle().model_copy(update={"alert": FIVE_XX_RATIO if failing == "5xx" else LATENCY})
    result = diagnose(bundle, S)
    return result, plan(result, bundle, S)


ROLLBACK, HELD, COMPETE = "rollback", "held", "compete"
ROWS = {
    # The connector full since before the deploy, the canary dialling the address the stable revision uses: held.
    "full, same address, 2 % canary, 503s": (dict(), HELD),
    "full, same address, 2 % canary, slow": (dict(failing="slow"), HELD),
    "full, same address, 50 % canary, 503s": (dict(share=50), HELD),
    "full, same address, 50 % canary, slow": (dict(share=50, failing="slow"), HELD),
    "full, same address, the stable revision's new dials time out too": (dict(old_dials=True), HELD),
    "full, same DB_HOST in both revisions' env": (dict(old_host=DB, new_host=DB), HELD),
    "full, same address, 50 % canary, the stable revision's dials too": (dict(share=50, old_dials=True), HELD),
    "near full before the deploy (CPU p99 75 %), full after": (dict(before=0.75), HELD),
    # Full only after the deploy: held (the canary's own load, or a neighbour's on the shared connector).
    "idle until the canary, then full on the same load (a leak)": (dict(before=None), HELD),
    "idle until the canary, then full, slow": (dict(before=None, failing="slow"), HELD),
    # Half the split failing: connector_saturation matches the service's requests too, and the two compete.
    "idle until the 50 % canary, then full on the same load": (dict(before=None, share=50), COMPETE),
    "idle until the canary, but the service's requests tripled with it": (dict(before=None, load=3.0), HELD),
    "the minutes before the deploy not read": (dict(read_from=-12), HELD),
    "three minutes read before the deploy": (dict(before=None, read_from=-16), HELD),
    # Being changed (an operation in flight, no audit entry read): held, whatever it read.
    "connector UPDATING, idle until the canary": (dict(before=None, state="UPDATING"), HELD),
    "connector UPDATING, headroom, CPU normal": (dict(before=None, max_instances=10, cpu=0.3,
                                                      state="UPDATING"), HELD),
    "connector CREATING, full": (dict(state="CREATING"), HELD),
    "connector ERROR, full": (dict(state="ERROR"), HELD),
    # The deploy's own change is read before the connector's state: the rollback stands whatever it is.
    "connector UPDATING, the deploy moved DB_HOST": (dict(state="UPDATING", dialled=ELSEWHERE, old_host=DB,
                                                          new_host=ELSEWHERE), ROLLBACK),
    # The deploy's own: the rollback stands.
    "full, the deploy moved DB_HOST to the address dialled": (dict(dialled=ELSEWHERE, old_host=DB,
                                                                    new_host=ELSEWHERE), ROLLBACK),
    "full, the deploy moved DB_HOST, slow": (dict(dialled=ELSEWHERE, old_host=DB, new_host=ELSEWHERE,
                                                   failing="slow"), ROLLBACK),
    "full, an address the stable revision's settings do not name": (dict(dialled=ELSEWHERE, old_host=DB,
                                                                          new_host=DB), ROLLBACK),
    "headroom (3 of 10), CPU 95 %": (dict(max_instances=10, before=None), ROLLBACK),
    "at max, CPU normal (a high-water mark)": (dict(cpu=0.3, before=0.3), ROLLBACK),
    "at max, CPU normal, slow": (dict(cpu=0.3, before=0.3, failing="slow"), ROLLBACK),
    # Half the traffic failing on dials beside a connector with no sign: the path past it competes, as before.
    "headroom, CPU normal, 50 % canary": (dict(max_instances=10, cpu=0.3, share=50, before=None), COMPETE),
}


@pytest.mark.parametrize("kwargs, expected", ROWS.values(), ids=ROWS.keys())
def test_connector_full_beside_a_canary(kwargs, expected):
    failing = kwargs.get("failing", "5xx")
    result, chosen = run(canary(**kwargs), failing)
    if expected == ROLLBACK:
        assert (result.signature, chosen.action) == (Signature.BAD_REVISION, "rollback_traffic"), result.summary
        return
    if expected == COMPETE:
        assert chosen.action is None and "bad_revision" in result.competing, (result.signature, result.summary)
        return
    assert chosen.action != "rollback_traffic", (result.signature, result.summary)
    assert result.signature is not Signature.BAD_REVISION, result.summary
    assert "connector backend-conn" in result.summary and NEW in result.summary, result.summary


def test_held_finding_names_the_full_connector_and_the_address():
    result, _ = run(canary(), "5xx")
    assert f"to {DB}" in result.summary and "at its max 3 instances, CPU p99 95%" in result.summary, result.summary


def test_a_held_canary_is_said_held_by_the_full_connector_and_look_next_starts_there():
    result, chosen = run(canary(), "5xx")
    assert chosen.action is None, result.summary
    assert result.summary.startswith("bad_revision held, not ruled out: held by the full connector backend-conn "
                                     "(at its max 3 instances"), result.summary
    assert OLD in result.summary and NEW in result.summary and "already near full before" in result.summary
    assert result.recommendation.startswith("raise the connector's max instances"), result.recommendation


@pytest.mark.parametrize("kwargs, words", [
    (dict(read_from=-12), "its CPU unread before"),
    (dict(before=None), "or a neighbour's on the shared connector, filled it"),
    (dict(before=None, load=3.0), "requests rose from 1500 to 4500 a minute"),
    (dict(before=None, state="UPDATING"), "in state UPDATING"),
])
def test_each_hold_names_its_reason(kwargs, words):
    result, chosen = run(canary(**kwargs), "5xx")
    assert chosen.action is None and words in result.summary, result.summary


def test_a_connector_filled_after_the_canary_is_held_with_the_minutes_before_cited():
    result, chosen = run(canary(before=None), "5xx")
    assert chosen.action is None, result.summary
    assert "not near full in the 15 minutes before" in result.summary, result.summary
    assert any("not near full before it" in e.threshold and e.passed for e in result.evidence), result.evidence
    assert result.recommendation.startswith("check the other services on the connector"), result.recommendation


def test_a_connector_in_error_is_said_broken_not_being_changed():
    # vpc_access.proto, Connector.State ERROR: "Connector is in a bad state, manual deletion recommended".
    result, chosen = run(canary(state="ERROR"), "5xx")
    assert chosen.action is None and "manual deletion recommended" in result.summary, result.summary
    assert "let the change finish" not in result.recommendation, result.recommendation


def test_the_operations_list_names_its_region():
    result, _ = run(canary(state="UPDATING"), "5xx")
    assert "vpc-access operations list --region=" in result.recommendation, result.recommendation
