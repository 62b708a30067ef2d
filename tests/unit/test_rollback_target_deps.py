"""A rollback target whose own dependencies may be gone: the connector it routes through, the Cloud SQL
instance it names (shared/diagnosis/rules/target_deps.py).

The revision bad_revision would send traffic back to served cleanly before the deploy, so what it named
existed then. A deploy made for a migration (the service moved to a new connector, to Direct VPC egress, or
to a new Cloud SQL instance, and the old one deleted) leaves it naming the old one: no rollback target, a
person decides. Its connector is read apart (collection.target_connector_name); a connector the serving
revisions share with it is bad_revision._connector_gone_for_both's (test_bad_revision_connector_gone.py).
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import (TARGET_CONNECTOR_READS, CallBudget, Readers, _Reads, _Scope, _target_connector,
                                         target_connector_name)
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Connector, TargetConnectorRead
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, PROJECT, T0, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
OLD_CONN = f"projects/{PROJECT}/locations/us-central1/connectors/old-conn"
OWN = "TypeError: Cannot read properties of undefined (reading 'tiers') at computeQuote (/app/dist/v2.js:88:31)"
OLD_DB, NEW_DB = f"{PROJECT}:us-central1:main-db", f"{PROJECT}:us-central1:main-db-v2"


def deployed(*, old_connector: str | None = CONNECTOR, new_connector: str | None = CONNECTOR,
             old_sql: tuple[str, ...] = (), new_sql: tuple[str, ...] = (), old_env: tuple[str, ...] = (),
             new_env: tuple[str, ...] = (), logs: tuple[tuple[str, int], ...] = ((OWN, 20),),
             network_interfaces: tuple[str, ...] = ()) -> Evidence:
    """NEW replaced OLD 6 minutes ago and a third of its requests fail with its own code's error; OLD
    served cleanly for an hour and a half before it."""
    e = (Evidence().revision(OLD, -300, sql=old_sql, connector=old_connector, env=old_env)
         .revision(NEW, -6, sql=new_sql, connector=new_connector, env=new_env, network_interfaces=network_interfaces)
         .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
         .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5))
    for text, count in logs:
        e.log(-5, text, NEW, count=count)
    if new_connector:
        e = (e.connector(max_instances=3).connector_metric("instances", -40, 5, 2)
             .connector_metric("cpu", -40, 5, 0.2).connector_metric("bytes", -40, 5, 2e6))
    for db in dict.fromkeys((*old_sql, *new_sql)):
        e.sql_up(-40, 5, 1, db=db)
    return e


def read(state: str | None, refusal: str = "", name: str = OLD_CONN) -> TargetConnectorRead:
    connector = Connector(name=name, state=state) if state else None
    return TargetConnectorRead(name=name, revisions=(OLD,), connector=connector, refusal=refusal)


ROLLBACK = (OLD, "rollback_traffic")
NO_TARGET = (None, None)

# (OLD's connector, NEW's connector, the target connector's read) -> (known-good revision, action)
CONNECTOR_CASES = {
    "the deploy moved connectors; the old one answers NOT_FOUND: no target": (
        OLD_CONN, CONNECTOR, read(None, "NOT_FOUND"), NO_TARGET),
    "the deploy moved connectors; the old one is READY: rolled back": (
        OLD_CONN, CONNECTOR, read("READY"), ROLLBACK),
    "the old one is being deleted (DELETING): no target": (OLD_CONN, CONNECTOR, read("DELETING"), NO_TARGET),
    "the old one is in ERROR: no target": (OLD_CONN, CONNECTOR, read("ERROR"), NO_TARGET),
    "the old one is UPDATING (a change on a connector that exists): rolled back": (
        OLD_CONN, CONNECTOR, read("UPDATING"), ROLLBACK),
    "the old one's read refused (PERMISSION_DENIED): not known, no target": (
        OLD_CONN, CONNECTOR, read(None, "PERMISSION_DENIED"), NO_TARGET),
    "the old one not read (no room in the budget): as before, rolled back": (OLD_CONN, CONNECTOR, None, ROLLBACK),
    "a read of another connector than the target's says nothing of it: rolled back": (
        OLD_CONN, CONNECTOR, read(None, "NOT_FOUND", name=f"{OLD_CONN}-2"), ROLLBACK),
    "the deploy moved to Direct VPC egress; the old connector answers NOT_FOUND: no target": (
        OLD_CONN, None, read(None, "NOT_FOUND"), NO_TARGET),
    "the deploy moved to Direct VPC egress; the old connector is READY: rolled back": (
        OLD_CONN, None, read("READY"), ROLLBACK),
    "the target had no connector: nothing to read, rolled back": (None, CONNECTOR, None, ROLLBACK),
}


@pytest.mark.parametrize("old, new, target_read, expected", CONNECTOR_CASES.values(), ids=CONNECTOR_CASES.keys())
def test_a_rollback_target_whose_own_connector_is_gone_is_no_target(old, new, target_read, expected):
    e = deployed(old_connector=old, new_connector=new,
                 network_interfaces=() if new else ("projects/demo/global/networks/vpc/subnetworks/run",))
    bundle = e.bundle().model_copy(update={"target_connector": target_read})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert (result.known_good_revision, plan(result, bundle, S).action) == expected, result.summary
    if expected == NO_TARGET:
        assert "old-conn" in result.summary and f"{NEW}'s deploy moved off" in result.summary, result.summary


ADMIN_404 = ("aiohttp.client_exceptions.ClientResponseError: 404, message='The Cloud SQL instance does not exist.', "
             f"url='https://sqladmin.googleapis.com/sql/v1beta4/projects/{PROJECT}/instances/main-db-v2/connectSettings'")

# (OLD's and NEW's Cloud SQL volumes, their INSTANCE_CONNECTION_NAME, NEW's failure lines) -> expected
DATABASE_CASES = {
    "the deploy moved the volume to another instance: no target": dict(
        old_sql=(OLD_DB,), new_sql=(NEW_DB,), expected=NO_TARGET),
    "the deploy moved INSTANCE_CONNECTION_NAME to another instance: no target": dict(
        old_env=(OLD_DB,), new_env=(NEW_DB,), expected=NO_TARGET),
    "the same instance: rolled back": dict(old_sql=(OLD_DB,), new_sql=(OLD_DB,), expected=ROLLBACK),
    "the deploy added an instance beside the old one: rolled back": dict(
        old_sql=(OLD_DB,), new_sql=(OLD_DB, NEW_DB), expected=ROLLBACK),
    "the deploy dropped the connection (nothing in its place): rolled back": dict(old_sql=(OLD_DB,), expected=ROLLBACK),
    "the deploy brought a name the Admin API refuses (a typo): rolled back": dict(
        old_env=(OLD_DB,), new_env=(NEW_DB,), logs=((ADMIN_404, 20),), expected=ROLLBACK),
}


@pytest.mark.parametrize("case", DATABASE_CASES.values(), ids=DATABASE_CASES.keys())
def test_a_rollback_across_a_cloud_sql_migration_is_no_target(case):
    kwargs = {k: v for k, v in case.items() if k != "expected"}
    bundle = deployed(**kwargs).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert (result.known_good_revision, plan(result, bundle, S).action) == case["expected"], result.summary
    if case["expected"] == NO_TARGET:
        assert "main-db-v2" in result.summary and "a migration" in result.summary, result.summary


def _revisions(old_connector: str | None, new_connector: str | None, *, older_ready: bool = True,
               deployed_minutes_ago: float = 6):
    bundle = (Evidence().revision(OLD, -300, connector=old_connector, ready=older_ready)
              .revision(NEW, -deployed_minutes_ago, connector=new_connector).traffic(**{NEW: 100}).bundle())
    return bundle.service, bundle.revisions


# (OLD's connector, NEW's, OLD Ready, NEW deployed minutes before the incident) -> the read planned
NAME_CASES = {
    "the deploy moved connectors: the target's is read": (OLD_CONN, CONNECTOR, True, 6, (OLD_CONN, (OLD,))),
    "the deploy moved to Direct VPC egress: the target's is read": (OLD_CONN, None, True, 6, (OLD_CONN, (OLD,))),
    "the same connector: the path's read covers it": (CONNECTOR, CONNECTOR, True, 6, None),
    "the target has no connector": (None, CONNECTOR, True, 6, None),
    "the older revision is not Ready: no candidate": (OLD_CONN, CONNECTOR, False, 6, None),
    "no recent deploy: no rollback follows": (OLD_CONN, CONNECTOR, True, 600, None),
}


@pytest.mark.parametrize("old, new, ready, ago, expected", NAME_CASES.values(), ids=NAME_CASES.keys())
def test_the_target_connector_read_is_planned_only_when_it_can_matter(old, new, ready, ago, expected):
    service, revisions = _revisions(old, new, older_ready=ready, deployed_minutes_ago=ago)
    assert target_connector_name(service, revisions, T0, S, new) == expected


@pytest.mark.parametrize("used, planned", [(14, True), (15, False)], ids=["room for it", "budget spent: a gap"])
def test_the_target_connector_read_never_exceeds_the_budget(used, planned):
    """The GET takes the budget's room; its fullness' reads (TARGET_CONNECTOR_READS) bring their own."""
    budget = CallBudget(15, used=used)
    reads = _Reads(budget)
    service, revisions = _revisions(OLD_CONN, CONNECTOR)
    scope = _Scope.of(service, revisions, T0, S, T0 + timedelta(minutes=5))

    _target_connector(reads, Readers(run=None, monitoring=None), scope, OLD_CONN)   # planned, never run here

    fullness = ["target_connector_instances", "target_connector_cpu", "target_connector_bytes",
                "target_connector_sent_bytes"]
    assert budget.used == (used + 1 + TARGET_CONNECTOR_READS if planned else used) <= budget.limit
    assert [r.key for r in reads.planned] == (["target_connector", *fullness] if planned else [""])
    if planned:   # on the connector's own project and location, as the serving connector's are read
        assert all('connector_name = "old-conn"' in r.how for r in reads.planned[1:]), [r.how for r in reads.planned]
    else:
        assert "not read" in reads.planned[0].what


def test_the_deploy_window_bounds_the_candidates():
    # A suspect deployed exactly at the window's edge is still one: its candidates are read.
    service, revisions = _revisions(OLD_CONN, CONNECTOR, deployed_minutes_ago=S.deploy_window_seconds / 60)
    assert target_connector_name(service, revisions, T0, S, CONNECTOR) == (OLD_CONN, (OLD,))
    assert T0 - timedelta(seconds=S.deploy_window_seconds) == revisions[-1].create_time


@pytest.mark.parametrize("alert, sweep, planned", [(None, True, False), ("alert", False, True), (None, False, True)],
                         ids=["the sweep: the GET alone", "an alert: its fullness too",
                              "an operator's rollback_traffic or diagnose (no alert): its fullness too"])
def test_the_target_connector_fullness_is_read_wherever_a_target_is_picked(alert, sweep, planned):
    """The verification sweep verifies an action taken, and reads no fullness to judge one; every other collection
    may pick a rollback target (shared/commands/traffic.py's, with no alert) and reads it."""
    from shared.diagnosis.collection import MAX_API_CALLS, _TargetReads
    service, revisions = _revisions(OLD_CONN, CONNECTOR)
    scope = _Scope.of(service, revisions, T0, S, T0 + timedelta(minutes=5))
    reads = _Reads(CallBudget(MAX_API_CALLS))
    suspect = next(r for r in revisions if r.short_name == NEW)
    _TargetReads.plan(reads, Readers(run=None, monitoring=None, vpcaccess=object()), scope,
                      known=(service, revisions), started_at=T0, settings=S, path=CONNECTOR, sql=(),
                      alert=alert and object(), suspect=suspect, sweep=sweep)
    keys = [r.key for r in reads.planned]
    fullness = ["target_connector_instances", "target_connector_cpu", "target_connector_bytes",
                "target_connector_sent_bytes"]
    assert keys == ["target_connector", *(fullness if planned else [])]
    assert reads.budget.limit == MAX_API_CALLS + (TARGET_CONNECTOR_READS if planned else 0)
