"""A database user deleted on the Cloud SQL instance (cloudsql.users.delete in the Admin Activity audit log, Cloud SQL
docs "Cloud SQL audit logging") refuses every new login of that user, whichever revision opens it, as a password set
under the service does (cloudsql.users.update, tests/unit/test_password_set_under_the_service.py): the audit read asks
for both, and both rule a deploy that changed nothing of how the service logs in out. MySQL's DROP USER leaves open
sessions alone (MySQL Reference Manual, "DROP USER Statement"), so the revision a canary replaced may serve on its old
pool while the canary's new connections are refused: with the deletion read, the two compete and nothing is rolled
back onto a revision whose user is gone. A deletion of another user, a failed one, or one after the refusals began is
no cause, as before."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import audit_filter
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_deploy_moved_where_it_connects import SQL, deployed
from tests.unit.test_password_set_under_the_service import DBA, ENV, LIBPQ, MYSQL, PINNED_6

S = DiagnosisSettings()
DELETE = "cloudsql.users.delete"
DATABASE = (Signature.DATABASE_UNREACHABLE, None)
COMPETE = (Signature.INCONCLUSIVE, None)
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")

# A deploy at -6 that changed nothing of how the service logs in; its refusals from -5; an entry at `when` deleting
# `user` (None: naming none), `status` its error code (None: it succeeded), `method` what it did.
DEPLOYED = {
    "MySQL's 1045 after the user it logs in as was deleted": ((MYSQL, -5.5, "app", None, DELETE), DATABASE),
    "libpq's refusal after the user was deleted": ((LIBPQ, -5.5, "app", None, DELETE), DATABASE),
    "a deletion naming no user": ((MYSQL, -5.5, None, None, DELETE), DATABASE),
    # Controls.
    "another user deleted": ((MYSQL, -5.5, "reports", None, DELETE), COMPETE),
    "the deletion failed": ((MYSQL, -5.5, "app", 9, DELETE), COMPETE),
    "the deletion after the refusals began": ((MYSQL, -3, "app", None, DELETE), COMPETE),
    "a user created (no login refused by it)": ((MYSQL, -5.5, "app", None, "cloudsql.users.create"), COMPETE),
    # A MySQL account is its name and host: 'app'@'localhost' deleted is another account than the 'app'@'%' refused
    # from 'cloudsqlproxy~10.8.0.4'; a refusal naming no host (libpq's) keeps the deletion the service's.
    "another host's account deleted (MySQL)": ((MYSQL, -5.5, ("app", "localhost"), None, DELETE), COMPETE),
    "the any-host account deleted (MySQL)": ((MYSQL, -5.5, ("app", "%"), None, DELETE), DATABASE),
    "a refusal naming no host, a host named": ((LIBPQ, -5.5, ("app", "localhost"), None, DELETE), DATABASE),
}


@pytest.mark.parametrize("args, expected", DEPLOYED.values(), ids=DEPLOYED.keys())
def test_a_user_deleted_under_a_deploy_is_the_databases(args, expected):
    line, when, user, status, method = args
    user, host = user if isinstance(user, tuple) else (user, None)
    evidence = deployed(line, ENV, ENV, old_secrets=PINNED_6, new_secrets=PINNED_6)
    evidence.sql_user_changed(when, DBA, method=method, status=status, user=user, host=host)
    bundle = evidence.bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary
    if expected == DATABASE and method == DELETE:     # who deleted which user, and when, in the person's words
        assert f"deleted on main-db by {DBA} at " in result.summary, result.summary


# A 20 % canary deployed at -6, refused from -5; the revision before keeps 80 %, serving cleanly on its old pool with
# no refusal of its own; an entry deleting `user` at -5.5.
CANARY = {
    "the user both log in as deleted: the two compete, no rollback": ("app", COMPETE),
    "a deletion naming no user: the two compete": (None, COMPETE),
    "another user deleted: the canary's own": ("reports", ROLLBACK),
    # The refused account is 'app'@'cloudsqlproxy~10.8.0.4' (MySQL's 1045 names the client host).
    "another host's account deleted ('app'@'localhost'): the canary's own": (("app", "localhost"), ROLLBACK),
    "an address pattern that cannot admit the client: the canary's own": (("app", "10.9.%"), ROLLBACK),
    "the any-host account deleted ('app'@'%'): the two compete": (("app", "%"), COMPETE),
    "the proxy's host pattern deleted: the two compete": (("app", "cloudsqlproxy~%"), COMPETE),
    "a host name (its resolution not read): the two compete": (("app", "db-client.internal"), COMPETE),
    "a host name of hex letters alone: the two compete": (("app", "cafe"), COMPETE),
}


@pytest.mark.parametrize("user, expected", CANARY.values(), ids=CANARY.keys())
def test_a_user_deleted_under_a_canary_whose_revision_before_keeps_its_pool(user, expected):
    user, host = user if isinstance(user, tuple) else (user, None)
    from tests.unit.builders import Evidence
    from tests.unit.test_diagnosis import NEW, OLD

    evidence = (Evidence().revision(OLD, -300, sql=(SQL,), plain_env=ENV, secrets=PINNED_6)
                .revision(NEW, -6, sql=(SQL,), plain_env=ENV, secrets=PINNED_6).traffic(**{NEW: 20, OLD: 80})
                .requests(OLD, -90, -6, 200).latency(OLD, -90, -6, 0.2)
                .requests(OLD, -6, 5, 160).latency(OLD, -6, 5, 0.2)
                .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5)
                .connector(max_instances=3).connector_metric("instances", -40, 5, 2)
                .connector_metric("cpu", -40, 5, 0.2).connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1)
                .log(-5, MYSQL, NEW, count=20)
                .sql_user_changed(-5.5, DBA, method=DELETE, user=user, host=host))
    bundle = evidence.bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary
    if host is not None and expected == ROLLBACK:     # the account read as another user's, named with its host
        assert f"'app'@'{host}'" in result.summary, result.summary


def _audit(request: dict, resource_name: str = "projects/demo-project/instances/main-db"):
    from google.cloud.audit import audit_log_pb2
    from google.protobuf import struct_pb2

    audit = audit_log_pb2.AuditLog(method_name=DELETE, resource_name=resource_name)
    body = struct_pb2.Struct()
    body.update(request)
    audit.request.CopyFrom(body)
    return audit


# The request of `gcloud sql users delete NAME --host=HOST` as an entry may carry it (the query parameters `name` and
# `host`, Cloud SQL Admin API REST reference, users.delete), or a User body; a PostgreSQL role names no host.
DECODED = {
    "query parameters": ({"name": "app", "host": "localhost"}, ("app", "localhost")),
    "a User body": ({"body": {"name": "app", "host": "%"}}, ("app", "%")),
    "no host (PostgreSQL)": ({"name": "app"}, ("app", None)),
}


@pytest.mark.parametrize("request_, expected", DECODED.values(), ids=DECODED.keys())
def test_the_decoder_keeps_the_accounts_host(request_, expected):
    from shared.gcp.logging import _changed_host, _changed_user

    audit = _audit(request_)
    assert (_changed_user(audit), _changed_host(audit)) == expected


def _notable_words(entry_update: dict, principals: tuple[str, ...] = ()) -> list[str]:
    from shared.diagnosis.facts import Facts
    from shared.diagnosis.notable import notable
    from tests.unit.builders import Evidence
    from tests.unit.test_diagnosis import OLD

    evidence = Evidence().revision(OLD, -300, sql=(SQL,), plain_env=ENV, secrets=PINNED_6).traffic(**{OLD: 100})
    evidence.sql_user_changed(-5, DBA, method=DELETE, user="app")
    bundle = evidence.bundle()
    entry = bundle.sql_audit.entries[0].model_copy(update=entry_update)
    bundle = bundle.model_copy(update={"sql_audit": bundle.sql_audit.model_copy(update={"entries": (entry,)})})
    settings = DiagnosisSettings(self_principals=principals) if principals else S
    return [n.words for n in notable(Facts(bundle, settings)) if n.kind == "database_user"]


# What a person paged reads of the deletion: the instance it was on (after /instances/, whichever resource the entry
# names), and nothing of a failed call or of Runwarden's own.
NOTABLE = {
    "an instance resource": ({}, (), ["database user app deleted on main-db by carol@example.com"]),
    "a user resource": ({"resource_name": "projects/demo-project/instances/main-db/users/app"}, (),
                        ["database user app deleted on main-db by carol@example.com"]),
    "the call failed": ({"status_code": 9}, (), []),
    "Runwarden's own call": ({}, (DBA,), []),
}


def test_a_deletion_whose_operation_end_is_not_read_is_named_as_such():
    # Only the operation's start entry in the read (no status): it may have failed (PostgreSQL refuses to drop a role
    # that owns objects); it is still counted, and the person reads that its outcome was not seen.
    words = _notable_words({"operation_first": True})
    assert len(words) == 1 and "its outcome not read" in words[0], words
    assert "outcome not read" not in _notable_words({"operation_first": True, "operation_last": True})[0]


@pytest.mark.parametrize("update, principals, expected", NOTABLE.values(), ids=NOTABLE.keys())
def test_the_notable_line_names_the_instance_and_skips_what_did_not_happen(update, principals, expected):
    words = _notable_words(update, principals)
    assert [w.split(" at ")[0] for w in words] == expected, words


def test_the_audit_read_asks_for_the_users_deleted_beside_those_changed():
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    query = audit_filter("shop", "api", "us-central1", at, at, sql_instances=("shop:us-central1:db",))
    assert ('(protoPayload.methodName="cloudsql.users.update" OR protoPayload.methodName="cloudsql.users.delete")'
            in query)


def test_two_deletions_each_named_in_the_escalation():
    # An earlier deletion of another user on the same instance, and the service's own user's: both are named.
    evidence = deployed(MYSQL, ENV, ENV, old_secrets=PINNED_6, new_secrets=PINNED_6)
    evidence.sql_user_changed(-20, "dave@example.com", method=DELETE, user="reports")
    evidence.sql_user_changed(-5.5, DBA, method=DELETE, user="app")
    result = diagnose(evidence.bundle(), S)
    assert "user reports deleted" in result.summary and "user app deleted" in result.summary, result.summary
