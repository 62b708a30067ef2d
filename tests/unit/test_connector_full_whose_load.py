"""A full shared connector beside a canary, where only the evidence read says whose load filled it: a neighbour's
surge, a connector at its max before the deploy, CPU unread before it, Runwarden's own scale in flight each hold
the rollback; a canary that moved DB_HOST rolls back whatever the connector's state."""
from __future__ import annotations

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan
from tests.unit.builders import FIVE_XX_RATIO
from tests.unit.test_bad_revision_connector_full import DB, ELSEWHERE, canary, run


def test_neighbour_fills_the_shared_connector_canary_not_rolled_back():
    # Connector idle (2 of 3, CPU 30 %) until -12m; this service's requests flat (1500/min). From -12m the
    # connector carries 10x the bytes (2 MB/s -> 20 MB/s): another service on the shared connector surged.
    # The 2 % canary (30 req/min) cannot carry 10x the connector's traffic; sending it back leaves it full.
    e = canary(before=None).connector_metric("bytes", -12, 5, 2e7)
    result, chosen = run(e, "5xx")
    assert chosen.action != "rollback_traffic", result.summary


def test_connector_already_at_its_max_before_the_deploy_is_not_idle():
    # In the 15 minutes before the deploy the connector sat at its max 3 instances (scaled out) at CPU p99 65 %:
    # half of the rule's own "full" (max instances) held before the canary came.
    e = (canary(before=None).connector_metric("instances", -30, -12, 3).connector_metric("cpu", -30, -12, 0.65))
    result, chosen = run(e, "5xx")
    assert chosen.action != "rollback_traffic", result.summary


def test_updating_connector_does_not_hold_a_moved_db_host():
    # The deploy moved DB_HOST 10.20.0.3 -> 10.20.0.9 and only the canary dials 10.20.0.9: the deploy's own,
    # rolled back on a READY connector (row "full, the deploy moved DB_HOST"). With the connector UPDATING and
    # no audit entry read (e.g. ingestion lag of Runwarden's own scale), the same canary is held.
    e = canary(state="UPDATING", before=None, dialled=ELSEWHERE, old_host=DB, new_host=ELSEWHERE)
    result, chosen = run(e, "5xx")
    assert (result.signature, chosen.action) == (Signature.BAD_REVISION, "rollback_traffic"), result.summary


def test_cpu_unread_before_the_deploy_is_not_idle():
    # The connector's CPU series has no point before -12m (a gap, or its series began later), its byte counters
    # read throughout: the "at least 5 minutes read" bar is met by throughput alone, CPU (the e2-micro's
    # usual ceiling, the one that is full at the onset) unread, and the connector is called idle before.
    e = canary(before=None, read_from=-12).connector_metric("bytes", -90, -12, 2e6)
    result, chosen = run(e, "5xx")
    assert chosen.action != "rollback_traffic", result.summary


def test_last_ten_minutes_before_the_deploy_unread_is_not_idle():
    # Connector CPU and bytes read only in (-30, -23]: 7 minutes, at 30 %; the 10 minutes just before the deploy
    # at -13 have no point (a gap). 7 >= 5 points, all low: called idle before the deploy, and rolled back,
    # though the minutes that would show it filling before the canary came were never read.
    e = (canary(before=None, read_from=-12).connector_metric("cpu", -30, -23, 0.3)
         .connector_metric("bytes", -30, -23, 2e6))
    result, chosen = run(e, "5xx")
    assert chosen.action != "rollback_traffic", result.summary


def test_runwardens_own_scale_in_flight_does_not_lift_the_full_connector_hold():
    # The connector full since before the deploy (held while READY: row "full, same address, 2 % canary, 503s").
    # Runwarden itself is raising the shared connector's max (another service's incident, or an answer to this
    # one): state UPDATING, its own PatchConnector entry at -2m, after the failures began. connector_full returns
    # None for any non-READY connector with an audit entry, skipping the full-connector check, and the canary
    # is rolled back while the connector is still full.
    from shared.diagnosis.evidence import LogRecord, LogResult
    from tests.unit.builders import CONNECTOR, at
    me = "runwarden@demo.iam.gserviceaccount.com"
    entry = LogRecord(timestamp=at(-2), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                      text="google.cloud.vpcaccess.v1.Connectors.PatchConnector",
                      method_name="google.cloud.vpcaccess.v1.Connectors.PatchConnector",
                      resource_name=CONNECTOR, principal=me)
    bundle = canary(state="UPDATING").bundle().model_copy(update={
        "alert": FIVE_XX_RATIO, "connector_audit": LogResult(query="connector audit", entries=(entry,))})
    s = DiagnosisSettings(self_principals=[me])
    result = diagnose(bundle, s)
    chosen = plan(result, bundle, s)
    assert chosen.action != "rollback_traffic", result.summary
