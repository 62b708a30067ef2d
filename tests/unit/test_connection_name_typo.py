"""A Cloud SQL instance connection name that names no instance: the connectors ask the Cloud SQL
Admin API for it, which answers 404 on every revision that gives that name. The answer is read as
the database side's "no such instance": an instance deleted or renamed under an image-only deploy
competes with the deploy; a connection name only the new revision gives (a typo in
INSTANCE_CONNECTION_NAME) is the deploy's, and is rolled back."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.env_hosts import connection_names
from shared.diagnosis.log_signals import Refusal, instance_named, refusal_of
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
PYTHON_404 = ("aiohttp.client_exceptions.ClientResponseError: 404, message='The Cloud SQL instance does not exist.', "
              "url='https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/main-db/connectSettings'")
PROXY_404 = (f'[{SQL}] failed to connect to instance: failed to get instance: Refresh error: failed to get instance '
             f'metadata (connection name = "{SQL}"): googleapi: Error 404: The Cloud SQL instance does not exist., '
             "instanceDoesNotExist")


@pytest.mark.parametrize("text", [PYTHON_404, PROXY_404])
def test_the_admin_apis_404_is_read_as_no_such_instance(text):
    assert refusal_of(text) == Refusal.NO_SUCH_INSTANCE


def deployed(text: str, old_env=(SQL,), new_env=(SQL,), old_sql=(SQL,), new_sql=(SQL,)) -> Evidence:
    """NEW replaced OLD 6 minutes ago on the same connector; every request needing a connection fails."""
    return (Evidence().revision(OLD, -300, sql=old_sql, env=old_env).revision(NEW, -6, sql=new_sql, env=new_env)
            .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
              .requests(NEW, -6, 5, 14).requests(NEW, -6, 5, 20, code="500").latency(NEW, -6, 5, 0.5)
              .connector(max_instances=3).connector_metric("instances", -40, 5, 2)
              .connector_metric("cpu", -40, 5, 0.3).connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1)
              .log(-5, text, NEW, count=20))


@pytest.mark.parametrize("text", [PYTHON_404, PROXY_404])
def test_an_instance_gone_under_an_image_only_deploy_is_not_rolled_back(text):
    bundle = deployed(text).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == (Signature.INCONCLUSIVE, None), result.summary


TYPO = "demo:us-central1:mian-db"
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)
PROXY_TYPO = PROXY_404.replace(SQL, TYPO)
PYTHON_TYPO = PYTHON_404.replace("instances/main-db/", "instances/mian-db/").replace("projects/p/", "projects/demo/")
JAVA_TYPO = (f"java.lang.RuntimeException: [{TYPO}] The Cloud SQL Instance does not exist or your account is not "
             "authorized to access it. Please verify the instance connection name and check the IAM permissions for "
             'project "demo" ')
PROXY_403_TYPO = (f'[{TYPO}] failed to connect to instance: failed to get instance: Refresh error: failed to get '
                  f'instance metadata (connection name = "{TYPO}"): googleapi: Error 403: The client is not authorized '
                  "to make this request., notAuthorized")
CASES = {
    "INSTANCE_CONNECTION_NAME retyped, the Auth Proxy's 404": (PROXY_TYPO, dict(old_env=(SQL,), new_env=(TYPO,)),
                                                               ROLLBACK),
    "retyped, the Python connector's 404": (PYTHON_TYPO, dict(old_env=(SQL,), new_env=(TYPO,)), ROLLBACK),
    "retyped in a /cloudsql/ socket path": (PROXY_TYPO, dict(old_env=(f"/cloudsql/{SQL}",),
                                                            new_env=(f"/cloudsql/{TYPO}",)), ROLLBACK),
    "retyped in the revision's Cloud SQL volume": (PROXY_TYPO, dict(old_env=(), new_env=(), new_sql=(TYPO,)), ROLLBACK),
    "the 404 names an instance both revisions give (deleted)": (PROXY_TYPO, dict(old_env=(TYPO,), new_env=(TYPO,)),
                                                                ESCALATE),
    "the 404 names an instance neither gives": (PROXY_TYPO, dict(), ESCALATE),
    "the revision before gives no connection name": (PROXY_TYPO, dict(old_env=(), new_env=(TYPO,), old_sql=(),
                                                                      new_sql=()), ESCALATE),
    "another instance named in the Python URL": (PYTHON_404, dict(old_env=(SQL,), new_env=(TYPO,)), ESCALATE),
    # The Admin API's 403 on the name (the Java connector says "does not exist or ... not authorized").
    "retyped, the Java connector's words": (JAVA_TYPO, dict(old_env=(SQL,), new_env=(TYPO,)), ROLLBACK),
    "retyped, the Auth Proxy's 403": (PROXY_403_TYPO, dict(old_env=(SQL,), new_env=(TYPO,)), ROLLBACK),
    "the Java connector's words on a name both give (a role removed, or deleted)": (
        JAVA_TYPO, dict(old_env=(TYPO,), new_env=(TYPO,), old_sql=(), new_sql=()), ESCALATE),
}


@pytest.mark.parametrize("text, revisions, expected", CASES.values(), ids=CASES.keys())
def test_a_connection_name_the_deploy_brought_is_rolled_back(text, revisions, expected):
    bundle = deployed(text, **revisions).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


@pytest.mark.parametrize("text, named", [
    (PROXY_TYPO, ("demo", "us-central1", "mian-db")),
    (PYTHON_TYPO, ("demo", "", "mian-db")),
    ('2024/05/02 10:00:00 [example.com:acme:europe-west1:orders] failed to connect to instance',
     ("example.com:acme", "europe-west1", "orders")),
    ("dial tcp 10.0.0.5:5432: i/o timeout", None),
])
def test_the_instance_a_refusal_names(text, named):
    assert instance_named(text) == named


@pytest.mark.parametrize("value, names", [
    ("demo:us-central1:main-db", {("demo", "us-central1", "main-db")}),
    ("/cloudsql/example.com:acme:europe-west1:orders", {("example.com:acme", "europe-west1", "orders")}),
    ("host=/cloudsql/demo:us-central1:main-db dbname=app", {("demo", "us-central1", "main-db")}),
    ("orders", set()), ("db.example", set()), ("10:20:30", set()), ("a:b", set()),
])
def test_connection_names(value, names):
    assert connection_names((value,)) == names


def test_the_evidence_names_the_instance_as_the_line_printed_it():
    bundle = deployed(PYTHON_TYPO, old_env=(f"/cloudsql/{SQL}",), new_env=(f"/cloudsql/{TYPO}",)).bundle()
    said = diagnose(bundle, S).model_dump_json()
    assert "names Cloud SQL instance projects/demo/instances/mian-db" in said
