"""A canary whose new connections time out dialling the database while the shared connector is full: the
connector's failure, the canary a bystander (its instances alone open new connections, the stable pool answers
on the ones it holds), unless the deploy changed what it dials. Sending the traffic back leaves the connector
full, so the deploy and the connector compete and a person chooses; a different address, a connector with
headroom or at a normal CPU leaves the rollback standing."""
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
           old_dials: bool = False, share: int = 2, failing: str = "5xx") -> Evidence:
    """OLD (6 days) and NEW (13 min ago, `share` % of the split) on the same connector and Cloud SQL instance. From
    -12m the connector runs 3 instances of `max_instances` at `cpu`; NEW's requests fail (`failing`: 60 % 503, or
    slow at 24 s) and it logs 5 dials a minute that timed out to `dialled`; OLD answers in 120 ms, logging the same
    dials when `old_dials`. `old_host`/`new_host`: each revision's DB_HOST, unset when ""."""
    per_minute = 1500
    new, old = per_minute * share / 100, per_minute * (100 - share) / 100
    e = (Evidence().revision(OLD, -6 * 24 * 60, sql=(SQL,), plain_env=(("DB_HOST", old_host),) if old_host else ())
         .revision(NEW, -13, sql=(SQL,), plain_env=(("DB_HOST", new_host),) if new_host else ())
         .traffic(**{OLD: 100 - share, NEW: share})
         .requests(OLD, -90, 5, old).latency(OLD, -90, 5, 0.12)
         .connector(max_instances=max_instances).connector_metric("instances", -90, -12, 2)
         .connector_metric("instances", -12, 5, 3)
         .connector_metric("cpu", -90, -12, 0.3).connector_metric("cpu", -12, 5, cpu)
         .connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1))
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
    # The connector full, the canary dialling the address the stable revision uses: held, both named.
    "full, same address, 2 % canary, 503s": (dict(), HELD),
    "full, same address, 2 % canary, slow": (dict(failing="slow"), HELD),
    "full, same address, 50 % canary, 503s": (dict(share=50), HELD),
    "full, same address, 50 % canary, slow": (dict(share=50, failing="slow"), HELD),
    "full, same address, the stable revision's new dials time out too": (dict(old_dials=True), HELD),
    "full, same DB_HOST in both revisions' env": (dict(old_host=DB, new_host=DB), HELD),
    "full, same address, 50 % canary, the stable revision's dials too": (dict(share=50, old_dials=True), HELD),
    # The deploy's own: the rollback stands.
    "full, the deploy moved DB_HOST to the address dialled": (dict(dialled=ELSEWHERE, old_host=DB,
                                                                    new_host=ELSEWHERE), ROLLBACK),
    "full, the deploy moved DB_HOST, slow": (dict(dialled=ELSEWHERE, old_host=DB, new_host=ELSEWHERE,
                                                   failing="slow"), ROLLBACK),
    "full, an address the stable revision's settings do not name": (dict(dialled=ELSEWHERE, old_host=DB,
                                                                          new_host=DB), ROLLBACK),
    "headroom (3 of 10), CPU 95 %": (dict(max_instances=10), ROLLBACK),
    "at max, CPU normal (a high-water mark)": (dict(cpu=0.3), ROLLBACK),
    "at max, CPU normal, slow": (dict(cpu=0.3, failing="slow"), ROLLBACK),
    # Half the traffic failing on dials beside a connector with no sign: the path past it competes, as before.
    "headroom, CPU normal, 50 % canary": (dict(max_instances=10, cpu=0.3, share=50), COMPETE),
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
