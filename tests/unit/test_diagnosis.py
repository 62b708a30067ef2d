"""Diagnosis is a pure function: a table of situations and what each must conclude."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Condition
from shared.diagnosis.signatures import Signature

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
PSYCOPG = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: '
           "Connection timed out. Is the server running on that host and accepting TCP/IP connections?")


NO_INSTANCE = "The request was aborted because there was no available instance."


def quiet_connector(e: Evidence) -> Evidence:
    return (e.connector(max_instances=3).connector_metric("instances", -20, 5, 2)
            .connector_metric("cpu", -20, 5, 0.3).connector_metric("bytes", -20, 5, 2e6).sql_up(-20, 5, 1))


def saturated_connector(e: Evidence) -> Evidence:
    return (e.connector(max_instances=3).connector_metric("instances", -20, 5, 3)
            .connector_metric("cpu", -20, 5, 0.95).connector_metric("bytes", -20, 5, 2e6).sql_up(-20, 5, 1))


def deployed(e: Evidence, new_at: float = -10, code: str = "500", conditions=None) -> Evidence:
    """OLD served cleanly until NEW took all traffic at `new_at`; NEW answers 60% `code`."""
    return (e.revision(OLD, -180, sql=(SQL,)).revision(NEW, new_at, sql=(SQL,), conditions=conditions)
            .traffic(**{NEW: 100})
            .requests(OLD, -90, new_at, 40).requests(NEW, new_at, 5, 18).requests(NEW, new_at, 5, 27, code=code)
            .latency(OLD, -20, new_at, 0.2).latency(NEW, new_at, 5, 0.4))


def long_running(e: Evidence) -> Evidence:
    """One revision, deployed hours ago, serving everything."""
    return e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)


CASES = {
    "bad revision": dict(
        build=lambda e: quiet_connector(deployed(e)), expect=Signature.BAD_REVISION),
    "bad revision seen through startup failures": dict(
        build=lambda e: quiet_connector(
            e.revision(OLD, -180).revision(NEW, -6).traffic(**{NEW: 100}).requests(OLD, -90, -6, 40)
             .requests(NEW, -6, 5, 30).requests(NEW, -6, 5, 5, code="503").latency(NEW, -6, 5, 0.3)
             .log(-4, 'Default STARTUP TCP probe failed 1 time consecutively for container "app" on port 8080. '
                      "The instance was not started.", NEW, count=4, log_id="run.googleapis.com/varlog/system")),
        expect=Signature.BAD_REVISION),
    # Cloud Run's own 500 "no available instance" (it could not scale fast enough, a burst on a
    # service that scales from zero): any revision would refuse so; the deploy is not shown the cause.
    "a new revision's 500s are Cloud Run's refusals for want of an instance: no rollback": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, NO_INSTANCE, NEW, count=20,
                                                        log_id="run.googleapis.com/requests")),
        expect=Signature.INCONCLUSIVE, why="refusals for want of an instance"),
    "refusals for want of an instance beside startup failures: the revision's own": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, NO_INSTANCE, NEW, count=20,
                                                        log_id="run.googleapis.com/requests")
                                        .log(-4, 'Default STARTUP TCP probe failed 1 time consecutively for '
                                                 'container "app" on port 8080. The instance was not started.', NEW,
                                             count=4, log_id="run.googleapis.com/varlog/system")),
        expect=Signature.BAD_REVISION),
    # The database's disk filled two minutes after a deploy: it refuses every write with its own error,
    # to the previous revision as well. The deploy competes with the database; nothing is rolled back.
    "a new revision's writes refused by a full disk: the database competes with the deploy": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, 'psycopg2.errors.DiskFull: could not extend file '
                                                            '"base/16384/24591": No space left on device', NEW,
                                                        count=10)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    # The database's own resources exhausted after a deploy, in other words than a relation's file: it
    # answers every revision's writes so, and a rollback changes none of them.
    "a new revision's writes refused, its WAL write refused by a full disk: the database competes": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, 'sqlalchemy.exc.OperationalError: (psycopg2.errors.DiskFull) could not write to file "pg_wal/xlogtemp.4121": No space left on device', NEW, count=10)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a new revision's writes refused, a sort's temporary file refused by a full disk: the database competes": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, 'psycopg2.errors.DiskFull: could not write to file "base/pgsql_tmp/pgsql_tmp8121.0": No space left on device', NEW, count=10)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a new revision's writes refused, MySQL's temporary file refused by a full disk (errno 28): the database competes": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, 'pymysql.err.OperationalError: (3, "Error writing file \'/tmp/MYfd=58\' (OS errno 28 - No space left on device)")', NEW, count=10)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a new revision's writes refused, MySQL's storage engine out of disk (1030, errno 28): the database competes": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, 'pymysql.err.OperationalError: (1030, \'Got error 28 "No space left on device" from storage engine\')', NEW, count=10)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a new revision's writes refused, transaction ID wraparound protection (PostgreSQL up to 15): the database competes": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, 'org.postgresql.util.PSQLException: ERROR: database is not accepting commands to avoid wraparound data loss in database "orders"', NEW, count=10)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a new revision's writes refused, transaction ID wraparound protection (PostgreSQL 16+): the database competes": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, 'sqlalchemy.exc.OperationalError: (psycopg2.errors.ProgramLimitExceeded) database is not accepting commands that assign new transaction IDs to avoid wraparound data loss in database "orders"', NEW, count=10)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a new revision's writes refused, MultiXactId wraparound protection: the database competes": dict(
        build=lambda e: quiet_connector(deployed(e).log(-4, 'ERROR: database is not accepting commands that generate new MultiXactIds to avoid wraparound data loss in database "orders" (SQLSTATE 54000)', NEW, count=10)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "connector saturation: 503s and a 30 s hang, connector at max and CPU-bound, SQL up": dict(
        build=lambda e: saturated_connector(long_running(e).requests(OLD, -15, 5, 20, code="503")
                                            .latency(OLD, -15, 5, 31)),
        expect=Signature.CONNECTOR_SATURATION, recommend="e2-standard-4"),
    "connector saturation with Cloud SQL unknown is matched, at low confidence": dict(
        build=lambda e: (e.revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
                         .requests(OLD, -15, 5, 20, code="503").latency(OLD, -15, 5, 31)
                         .connector(max_instances=3).connector_metric("instances", -20, 5, 3)),
        expect=Signature.CONNECTOR_SATURATION, confidence=0.6),
    "database down, connector quiet": dict(
        build=lambda e: (long_running(e).requests(OLD, -15, 5, 20, code="503").latency(OLD, -15, 5, 31)
                         .connector(max_instances=3).connector_metric("instances", -20, 5, 2)
                         .connector_metric("cpu", -20, 5, 0.2).sql_up(-20, -6, 1).sql_up(-6, 5, 0)
                         .log(-4, PSYCOPG, OLD, count=12)),
        expect=Signature.DATABASE_UNREACHABLE),
    "database down while the connector is also saturated: the database explains it": dict(
        build=lambda e: (long_running(e).requests(OLD, -15, 5, 20, code="503").latency(OLD, -15, 5, 31)
                         .connector(max_instances=3).connector_metric("instances", -20, 5, 3)
                         .connector_metric("cpu", -20, 5, 0.9).sql_up(-20, -6, 1).sql_up(-6, 5, 0)),
        expect=Signature.DATABASE_UNREACHABLE),
    "database unreachable from the app, SQL up, connector healthy": dict(
        build=lambda e: quiet_connector(long_running(e).requests(OLD, -15, 5, 15, code="500")
                                        .latency(OLD, -15, 5, 1.0).log(-3, PSYCOPG, OLD, count=8)),
        expect=Signature.DATABASE_UNREACHABLE),
    "connection errors while the connector is saturated are the connector's": dict(
        build=lambda e: saturated_connector(long_running(e).requests(OLD, -15, 5, 20, code="503")
                                            .latency(OLD, -15, 5, 31).log(-3, PSYCOPG, OLD, count=8)),
        expect=Signature.CONNECTOR_SATURATION),
    "secret access denied on the serving revision": dict(
        build=lambda e: quiet_connector(long_running(e).requests(OLD, -15, 5, 20, code="503")
                                        .latency(OLD, -15, 5, 1.0)
                                        .log(-3, "spec.template.spec.containers[0].env[0].value_from.secret_key_ref"
                                                 ".name: Permission denied on secret: projects/1/secrets/db-pass/"
                                                 "versions/latest", OLD, count=5,
                                             log_id="run.googleapis.com/varlog/system")),
        expect=Signature.STARTUP_CONFIG_FAILURE),
    "the new revision's secret check failed: configuration, not just a bad revision": dict(
        build=lambda e: quiet_connector(
            deployed(e, conditions=(
                Condition(type="Ready", state="CONDITION_FAILED", reason="SECRETS_ACCESS_CHECK_FAILED",
                          message="Secret projects/1/secrets/api-key/versions/latest was not found"),))),
        expect=Signature.STARTUP_CONFIG_FAILURE),
    "504s at the request timeout, nothing else wrong": dict(
        build=lambda e: quiet_connector(long_running(e).requests(OLD, -15, 5, 15, code="504")
                                        .latency(OLD, -15, 5, 299)),
        expect=Signature.REQUEST_TIMEOUT),
    "429s at max instances": dict(
        build=lambda e: quiet_connector(
            e.revision(OLD, -300, max_instances=10).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
             .requests(OLD, -15, 5, 20, code="429").latency(OLD, -15, 5, 0.5).instances(OLD, -15, 5, 10)),
        expect=Signature.CAPACITY),
    "healthy again on live data": dict(
        build=lambda e: quiet_connector(long_running(e).latency(OLD, -20, 5, 0.3)),
        expect=Signature.HEALTHY),
    "low traffic": dict(
        build=lambda e: quiet_connector(e.revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -10, 5, 0.5)
                                        .requests(OLD, -10, -5, 1, code="503")),
        expect=Signature.INCONCLUSIVE, why="too little traffic"),
    "late data": dict(
        build=lambda e: _late(), expect=Signature.INCONCLUSIVE, why="too late"),
    "no request data at all": dict(
        build=lambda e: quiet_connector(deployed(e).missing("requests")),
        expect=Signature.INCONCLUSIVE, why="no request_count data"),
    "a deploy and a saturated connector in the same minutes compete": dict(
        build=lambda e: saturated_connector(deployed(e, new_at=-8, code="503").latency(NEW, -8, 5, 31)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "connector_saturation"}),
    "errors on an old revision, no connector, no cause found": dict(
        build=lambda e: (e.revision(OLD, -300, connector=None).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
                         .requests(OLD, -15, 5, 20, code="500").latency(OLD, -15, 5, 0.5)),
        expect=Signature.INCONCLUSIVE, why="no signature matched"),
}


def _late():
    """The newest point is 9 minutes older than the diagnosis."""
    e = deployed(Evidence(now=1))
    e.now = 10
    return quiet_connector(e)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_diagnosis_table(case):
    evidence = case["build"](Evidence())
    result = diagnose(evidence.bundle(), S)

    assert result.signature is case["expect"], result.summary
    assert set(result.competing) == case.get("competing", set())
    if "why" in case:
        assert case["why"] in result.summary
    if "confidence" in case:
        assert result.confidence == case["confidence"]
    if "recommend" in case:
        assert case["recommend"] in result.recommendation
    if case["expect"] not in (Signature.INCONCLUSIVE, Signature.HEALTHY):
        assert result.confidence > 0
        assert result.evidence, "a matched signature cites its evidence"
    else:
        assert not result.actionable


def test_a_competing_diagnosis_carries_both_sets_of_evidence():
    e = saturated_connector(deployed(Evidence(), new_at=-8, code="503").latency(NEW, -8, 5, 31))
    result = diagnose(e.bundle(), S)

    observed = " | ".join(item.observed for item in result.evidence)
    assert "before the deploy" in observed          # bad_revision's baseline check
    assert "max 3 instances" in observed            # connector_saturation's stress check
    assert "a person must choose" in result.recommendation


def test_a_traffic_change_by_a_person_makes_automation_stand_down():
    e = quiet_connector(deployed(Evidence())).audit(1, "alice@example.com")
    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION
    assert "alice@example.com" in result.stand_down
    assert not result.actionable
    assert any("traffic or configuration change" in item.observed for item in result.evidence)


def test_the_deploy_that_caused_the_incident_is_context_not_a_reason_to_stand_down():
    e = quiet_connector(deployed(Evidence())).audit(-10, "ci@example.iam.gserviceaccount.com")
    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION and result.stand_down == ""
    assert any(f"deploy of {NEW}" in item.observed and item.role == "context" for item in result.evidence)


# Each deploy is one audit entry, the one nearest the revision's create_time: a traffic change a
# minute after it (`gcloud run deploy --no-traffic`, then `update-traffic --to-revisions NEW=50`, a
# rollout by hand) is a traffic change, and stands automation down as any other does. NEW is created
# at -10; minutes are relative to the incident.
AFTER_THE_DEPLOY = {
    "the deploy alone": dict(entries=(-10,), stand_down=False),
    "the deploy, its entry 20 s before the revision": dict(entries=(-10 - 1 / 3,), stand_down=False),
    "a traffic change a minute after the deploy, sending it a share": dict(
        entries=(-10, -9), split={NEW: 50, OLD: 50}, stand_down=True),
    "a traffic change 30 s after the deploy, sending it a share": dict(
        entries=(-10, -9.5), split={NEW: 10, OLD: 90}, stand_down=True),
    "a traffic change three minutes after the deploy": dict(entries=(-10, -7), stand_down=True),
    # `deploy --no-traffic`, then `update-traffic --to-latest` by the same pipeline: a deploy like any other.
    "the deploy's own principal sending it everything a minute later": dict(entries=(-10, -9), stand_down=False),
    "another principal sending it everything a minute later": dict(
        entries=(-10, -9), second="alice@example.com", stand_down=True),
}


@pytest.mark.parametrize("case", AFTER_THE_DEPLOY.values(), ids=AFTER_THE_DEPLOY.keys())
def test_a_traffic_change_just_after_a_deploy_is_not_the_deploy(case):
    e = quiet_connector(deployed(Evidence()))
    if "split" in case:
        e.traffic(**case["split"])
    for n, minute in enumerate(case["entries"]):
        e.audit(minute, case.get("second", "bob@example.com") if n else "bob@example.com")

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert bool(result.stand_down) == case["stand_down"], result.stand_down
    assert sum(f": deploy of {NEW}" in item.observed for item in result.evidence) == 1


def test_an_operations_end_entry_left_unmerged_is_the_same_deploy():
    # Cloud Run logs a long-running operation twice (first and last, one operation id); collection
    # merges them, and one left apart (its end names no principal) is still the deploy, no change.
    e = quiet_connector(deployed(Evidence())).audit(-10, "bob@example.com").audit(-9.75, "")
    first, last = e.audits[-2:]
    e.audits[-2:] = [first.model_copy(update={"operation_id": "op-1", "operation_first": True}),
                     last.model_copy(update={"operation_id": "op-1", "operation_last": True})]

    assert diagnose(e.bundle(), S).stand_down == ""


def test_another_producers_operation_under_the_deploys_id_is_a_change_of_its_own():
    # An operation id is unique only with its producer (LogEntryOperation.producer, google/logging/v2/
    # log_entry.proto): the second entry, under the deploy's id but another producer's, is no part of the deploy.
    e = quiet_connector(deployed(Evidence())).audit(-10, "bob@example.com").audit(-9.75, "")
    first, last = e.audits[-2:]
    e.audits[-2:] = [first.model_copy(update={"operation_id": "op-1", "operation_first": True,
                                              "operation_producer": "run.googleapis.com"}),
                     last.model_copy(update={"operation_id": "op-1", "operation_last": True,
                                             "operation_producer": "cloudsql.googleapis.com"})]

    assert diagnose(e.bundle(), S).stand_down != ""


def test_runwardens_own_changes_are_not_a_persons():
    e = quiet_connector(deployed(Evidence())).audit(1, "runwarden@demo.iam.gserviceaccount.com")
    settings = DiagnosisSettings(self_principals=("runwarden@demo.iam.gserviceaccount.com",))
    assert diagnose(e.bundle(), settings).stand_down == ""


def test_every_evidence_item_names_its_source_query_and_observation():
    result = diagnose(quiet_connector(deployed(Evidence())).bundle(), S)
    for item in result.evidence:
        assert item.source in {"api", "metric", "log"} and item.query and item.observed
    assert any("27 of 45" in item.observed or "5xx (60.0%)" in item.observed for item in result.evidence)


def test_thresholds_come_from_settings():
    e = quiet_connector(long_running(Evidence()).requests(OLD, -15, 5, 15, code="504").latency(OLD, -15, 5, 299))
    assert diagnose(e.bundle(), S).signature is Signature.REQUEST_TIMEOUT
    assert diagnose(e.bundle(), DiagnosisSettings(status_ratio=0.5)).signature is Signature.INCONCLUSIVE


def test_known_good_is_the_newest_ready_revision_that_served_cleanly():
    e = (Evidence().revision("r1", -300).revision(OLD, -180).revision("r3-failed", -30, ready=False)
         .revision(NEW, -10).traffic(**{NEW: 100}).requests("r1", -90, -10, 40).requests(OLD, -90, -10, 1)
         .requests(OLD, -90, -10, 3, code="500").requests(NEW, -10, 5, 10).requests(NEW, -10, 5, 30, code="500")
         .latency(NEW, -10, 5, 0.3))
    result = diagnose(quiet_connector(e).bundle(), S)
    assert result.signature is Signature.BAD_REVISION
    assert (result.known_good_revision, result.steps_back) == ("r1", 2)
