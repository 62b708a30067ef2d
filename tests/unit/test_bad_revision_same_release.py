"""bad_revision when the new revision runs the very release the rollback target runs (rules/same_release.py):
a no-op deploy (a label, an annotation, the revision's suffix, or `gcloud run deploy` of the image already
running) made a new revision with the same image digest, env, secrets, service account, path and settings.
Failures that began at it are not its content: sending traffic back brings back the same release, and its
new instances start as the failing ones do. The rollback is held and a person decides. The image is the same
only where both name it by digest: a tag is mutable ("About container image digests"), so the same tag on
both, a new digest, or any setting, env value, secret version or service account the deploy changed, still
roll back."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Revision, SecretRef
from shared.diagnosis.rules.same_release import differences, digests
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, T0, Evidence, deploy_failing

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)

REPO = "us-central1-docker.pkg.dev/shop-prod/apps/backend"
DIGEST_A = f"{REPO}@sha256:{'3f' * 32}"
DIGEST_B = f"{REPO}@sha256:{'9c' * 32}"
PROXY_A = f"gcr.io/cloud-sql-connectors/cloud-sql-proxy@sha256:{'a1' * 32}"
PROXY_B = f"gcr.io/cloud-sql-connectors/cloud-sql-proxy@sha256:{'b2' * 32}"
TAG = f"{REPO}:latest"
PLAIN = (("INVENTORY_URL", "https://inventory.internal.example/v1"), ("LOG_LEVEL", "info"))
KEY_3 = SecretRef(env="API_KEY", secret="api-key", version="3")
KEY_LATEST = SecretRef(env="API_KEY", secret="api-key", version="latest")
OWN = ("Traceback (most recent call last):\n  File \"/app/orders.py\", line 88, in create\n"
       "KeyError: 'warehouse_id'")


def rev(**fields) -> Revision:
    return Revision(name="services/backend/revisions/x", service="services/backend", create_time=T0, **fields)


@pytest.mark.parametrize("images, expected", [
    ((DIGEST_A,), (f"sha256:{'3f' * 32}",)),
    ((DIGEST_A, PROXY_A), (f"sha256:{'3f' * 32}", f"sha256:{'a1' * 32}")),
    ((TAG,), None), ((DIGEST_A, "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.11"), None), ((), None),
    ((f"{REPO}@sha256:{'3f' * 31}",), None),                      # 62 hex: not a digest
], ids=["one pinned", "two pinned", "a tag", "a sidecar by tag", "none read", "a short digest"])
def test_an_image_is_known_only_by_its_digest(images, expected):
    assert digests(rev(images=images)) == expected


DIFFERENCES = {
    "the same release": (dict(images=(DIGEST_A,), plain_env=PLAIN), dict(images=(DIGEST_A,), plain_env=PLAIN), []),
    "the same tag on both": (dict(images=(TAG,)), dict(images=(TAG,)), ["image (not pinned by digest on both)"]),
    "a new digest": (dict(images=(DIGEST_A,)), dict(images=(DIGEST_B,)), ["image digest"]),
    "a sidecar's new digest": (dict(images=(DIGEST_A, PROXY_A)), dict(images=(DIGEST_A, PROXY_B)), ["image digest"]),
    "an env value": (dict(images=(DIGEST_A,), plain_env=PLAIN),
                     dict(images=(DIGEST_A,), plain_env=(PLAIN[0], ("LOG_LEVEL", "debug"))), ["plain env"]),
    "a secret's version": (dict(images=(DIGEST_A,), secrets=(KEY_3,)),
                           dict(images=(DIGEST_A,), secrets=(SecretRef(env="API_KEY", secret="api-key", version="4"),)),
                           ["secrets read"]),
    "the service account": (dict(images=(DIGEST_A,), service_account="orders@p.iam.gserviceaccount.com"),
                            dict(images=(DIGEST_A,), service_account="orders-v2@p.iam.gserviceaccount.com"),
                            ["service account"]),
    "max instances": (dict(images=(DIGEST_A,), max_instance_count=20), dict(images=(DIGEST_A,), max_instance_count=5),
                      ["max instances from 20 to 5"]),
    "the Cloud SQL instance": (dict(images=(DIGEST_A,), cloudsql_instances=(SQL,)),
                               dict(images=(DIGEST_A,), cloudsql_instances=("shop-prod:us-central1:orders-2",)),
                               ["Cloud SQL instances"]),
}


@pytest.mark.parametrize("before, after, expected", DIFFERENCES.values(), ids=DIFFERENCES.keys())
def test_what_a_deploy_changed_in_what_the_revision_runs(before, after, expected):
    assert differences(rev(**before), rev(**after)) == expected


def in_project(project: str, *secrets: SecretRef) -> Revision:
    return Revision(name=f"projects/{project}/locations/us-central1/services/backend/revisions/x",
                    service=f"projects/{project}/locations/us-central1/services/backend", create_time=T0,
                    images=(DIGEST_A,), secrets=secrets)


def pw(secret: str, version: str = "4", env: str = "DB_PASSWORD") -> SecretRef:
    return SecretRef(env=env, secret=secret, version=version)


# Each secret by its full name (secret_refs.secret_name): a revision names its own project's secret by id alone
# and another project's in full (SecretKeySelector.secret, google/cloud/run/v2/k8s_min.proto).
SECRET_NAMES = {
    "its own secret by id, then in full": (("shop-prod", pw("db-pass")),
                                           ("shop-prod", pw("projects/shop-prod/secrets/db-pass")), []),
    "by its project's number, then its id": (("shop-prod", pw("projects/123456789/secrets/db-pass")),
                                             ("shop-prod", pw("db-pass")), []),
    "in full with its version": (("shop-prod", pw("db-pass")),
                                 ("shop-prod", pw("projects/shop-prod/secrets/db-pass/versions/4")), []),
    "another project's secret of that id": (("shop-prod", pw("db-pass")),
                                            ("shop-prod", pw("projects/shop-shared/secrets/db-pass")),
                                            ["secrets read"]),
    "in full, then the same id in another project": (("shop-prod", pw("projects/shop-prod/secrets/db-pass")),
                                                     ("shop-prod", pw("projects/shop-shared/secrets/db-pass")),
                                                     ["secrets read"]),
    "respelt, at another version": (("shop-prod", pw("db-pass")),
                                    ("shop-prod", pw("projects/shop-prod/secrets/db-pass", "5")), ["secrets read"]),
    "respelt, read elsewhere": (("shop-prod", pw("db-pass")),
                                ("shop-prod", pw("projects/shop-prod/secrets/db-pass", env="PGPASSWORD")),
                                ["secrets read"]),
    "two respelt, in another order": (("shop-prod", pw("db-pass"), pw("projects/shop-prod/secrets/db-pass", "3")),
                                      ("shop-prod", pw("db-pass", "3"), pw("projects/shop-prod/secrets/db-pass")),
                                      []),
}


@pytest.mark.parametrize("before, after, expected", SECRET_NAMES.values(), ids=SECRET_NAMES.keys())
def test_a_secret_is_compared_by_its_full_name(before, after, expected):
    assert differences(in_project(*before), in_project(*after)) == expected


def deployed(*, old: dict | None = None, new: dict | None = None, lines=((OWN, 20),), starts: int = 0) -> Evidence:
    """NEW replaced OLD 6 minutes ago, both running DIGEST_A with PLAIN unless `old`/`new` say otherwise; 59% of
    NEW's requests fail with `lines` (text, count) at ERROR, and `starts` of Cloud Run's exits of an instance
    that failed to start; the database is up and the connector quiet (`builders.deploy_failing`)."""
    base = dict(plain_env=PLAIN, images=(DIGEST_A,))
    return deploy_failing(OLD, NEW, lines, old_settings={**base, **(old or {})}, new_settings={**base, **(new or {})},
                          starts=starts)


CASES = {
    # The same release on both: held.
    "a redeploy of the same digest (a label changed)": ({}, ESCALATE),
    "the same digests in both containers": (dict(old=dict(images=(DIGEST_A, PROXY_A)),
                                                 new=dict(images=(DIGEST_A, PROXY_A))), ESCALATE),
    "the same release whose new instances exit as they start": (dict(starts=6), ESCALATE),
    "the same release reading a secret at latest": (dict(old=dict(secrets=(KEY_LATEST,)),
                                                         new=dict(secrets=(KEY_LATEST,))), ESCALATE),
    # The deploy changed what runs, or the image is not known to be the same: rolled back.
    "the same tag on both (a new push under it)": (dict(old=dict(images=(TAG,)), new=dict(images=(TAG,))), ROLLBACK),
    "a new digest": (dict(new=dict(images=(DIGEST_B,))), ROLLBACK),
    "a sidecar's new digest": (dict(old=dict(images=(DIGEST_A, PROXY_A)), new=dict(images=(DIGEST_A, PROXY_B))),
                               ROLLBACK),
    "the same digest, an env value changed": (dict(new=dict(plain_env=(PLAIN[0], ("LOG_LEVEL", "debug")))),
                                              ROLLBACK),
    "the same digest, a secret version changed": (dict(old=dict(secrets=(KEY_3,)), new=dict(
        secrets=(SecretRef(env="API_KEY", secret="api-key", version="4"),))), ROLLBACK),
    "the same digest, another service account": (dict(old=dict(service_account="orders@p.iam.gserviceaccount.com"),
                                                      new=dict(service_account="ops@p.iam.gserviceaccount.com")),
                                                 ROLLBACK),
    "the same digest, concurrency lowered": (dict(old=dict(concurrency=80), new=dict(concurrency=8)), ROLLBACK),
    "no image read on either": (dict(old=dict(images=()), new=dict(images=())), ROLLBACK),
}


@pytest.mark.parametrize("given, expected", CASES.values(), ids=CASES.keys())
def test_a_rollback_to_the_same_release_is_held(given, expected):
    e = deployed(**given)
    result = diagnose(e.bundle(), S)
    assert (result.signature, plan(result, e.bundle(), S).action) == expected, result.summary


def test_the_escalation_says_what_is_the_same_and_what_to_look_at():
    result = diagnose(deployed(starts=6).bundle(), S)
    assert result.signature is Signature.INCONCLUSIVE
    assert "changed nothing it runs against backend-00001-abc" in result.summary, result.summary
    assert "sha256:3f3f3f3f3f3f" in result.summary and "6 of its new instances failed to start" in result.summary
    assert "brings back the same release" in result.summary, result.summary
