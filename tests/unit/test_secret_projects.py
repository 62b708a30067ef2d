"""A secret is its full name, projects/P/secrets/S: a revision names one of its own project by id alone and
another project's in full (SecretKeySelector.secret: "Format: {secret_name} if the secret is in the same
project. projects/{project}/secrets/{secret_name} if the secret is in a different project",
google/cloud/run/v2/k8s_min.proto). Compared by id alone, a deploy that swapped project A's db-pass for
project B's read as no change where both read it at latest (the rollback held, or let through on a pin it
never changed), and the same secret named by id on one revision and in full on the other read as a change
("DB_PASSWORD from db-pass version 4 to projects/shop/secrets/db-pass version 4": the password rule's
rollback onto the very version both read). Pure: table-tested, no I/O."""
from __future__ import annotations

import pytest

from shared.diagnosis.evidence import Revision, SecretRef
from shared.diagnosis.secret_refs import one_secret, pinned_secrets_changed, secret_name, secrets_changed
from shared.diagnosis.secret_values import read_alike, read_at_latest_by_both, read_differently

from tests.unit.builders import T0

SERVICE = "projects/shop/locations/europe-west1/services/orders"


def rev(*secrets: SecretRef, name: str = f"{SERVICE}/revisions/orders-00001-abc") -> Revision:
    return Revision(name=name, service=SERVICE, create_time=T0, secrets=secrets)


def pw(secret: str, version: str = "4") -> SecretRef:
    return SecretRef(env="DB_PASSWORD", secret=secret, version=version)


OWN, OWN_FULL, OWN_NUMBER = "db-pass", "projects/shop/secrets/db-pass", "projects/418207365093/secrets/db-pass"
OTHER, OTHER_NUMBER = "projects/vault/secrets/db-pass", "projects/990011223344/secrets/db-pass"

NAMES = {
    "a bare id is the revision's own project's": (OWN, "projects/shop/secrets/db-pass"),
    "a full name is as written": (OTHER, OTHER),
    "a full version name names its secret": ("projects/vault/secrets/db-pass/versions/3", OTHER),
}


@pytest.mark.parametrize("secret, expected", NAMES.values(), ids=NAMES.keys())
def test_a_secrets_full_name(secret, expected):
    assert secret_name(rev(), pw(secret)) == expected


def test_a_bare_id_stays_bare_when_the_revision_names_no_project():
    assert secret_name(rev(name="services/orders/revisions/x"), pw(OWN)) == OWN


ONE = {
    "the same name": (OWN_FULL, OWN_FULL, True),
    "one id in two projects": (OWN_FULL, OTHER, False),
    "another id": (OWN_FULL, "projects/shop/secrets/db-pass-2", False),
    "one project by number, the other by id (a respelling, not told apart)": (OWN_NUMBER, OWN_FULL, True),
    "two numbers": (OWN_NUMBER, OTHER_NUMBER, False),
    "a bare id of no known project and a full name with it": (OWN, OTHER, True),
    "a bare id of no known project and another id": (OWN, "projects/vault/secrets/api-key", False),
}


@pytest.mark.parametrize("a, b, expected", ONE.values(), ids=ONE.keys())
def test_whether_two_names_may_be_one_secret(a, b, expected):
    assert one_secret(a, b) is expected and one_secret(b, a) is expected


# (before's secret, after's secret, secrets_changed, pinned_secrets_changed): both at version 4.
CHANGED = {
    "the same secret by id, then in full": (OWN, OWN_FULL, []),
    "the same secret in full, then by id": (OWN_FULL, OWN, []),
    "the same secret by project number, then by id": (OWN_NUMBER, OWN, []),
    "the own project's db-pass swapped for another project's": (
        OWN, OTHER, [f"env DB_PASSWORD from {OWN} version 4 to {OTHER} version 4"]),
    "another project's db-pass swapped for the own project's": (
        OTHER, OWN_FULL, [f"env DB_PASSWORD from {OTHER} version 4 to {OWN_FULL} version 4"]),
    "two projects by number": (
        OWN_NUMBER, OTHER_NUMBER, [f"env DB_PASSWORD from {OWN_NUMBER} version 4 to {OTHER_NUMBER} version 4"]),
}


@pytest.mark.parametrize("before, after, expected", CHANGED.values(), ids=CHANGED.keys())
def test_what_a_deploy_changed_by_full_name(before, after, expected):
    assert secrets_changed(rev(pw(before)), rev(pw(after))) == expected
    assert pinned_secrets_changed(rev(pw(before)), rev(pw(after))) == expected


# (the target's secret, the failing revision's secret, both at latest): read_differently, read_at_latest_by_both.
AT_LATEST = {
    "the same secret by id on both": (OWN, OWN, [], [OWN]),
    "the same secret by id and in full": (OWN_FULL, OWN, [], [OWN]),
    "the same secret by project number and by id": (OWN_NUMBER, OWN, [], [OWN]),
    "another project's secret of the same id on the target": (OTHER, OWN, ["env DB_PASSWORD"], []),
    "another project's secret of the same id on the failing one": (OWN, OTHER, ["env DB_PASSWORD"], []),
    "two projects by number": (OWN_NUMBER, OTHER_NUMBER, ["env DB_PASSWORD"], []),
}


@pytest.mark.parametrize("target, failing, differently, shared", AT_LATEST.values(), ids=AT_LATEST.keys())
def test_what_a_new_instance_reads_at_latest_by_full_name(target, failing, differently, shared):
    good, bad = rev(pw(target, "latest")), rev(pw(failing, "latest"))
    assert read_differently(good, bad) == differently
    assert [ref.secret for ref in read_at_latest_by_both(good, bad)] == shared


@pytest.mark.parametrize("failing, candidate, expected", [
    (OWN, OWN_FULL, True), (OWN, OTHER, False), (OTHER, OWN, False), (OWN_NUMBER, OWN, True)],
    ids=["by id and in full", "own and another project's", "another project's and own", "by number and by id"])
def test_a_candidates_secret_read_alike_by_the_suspect_only_in_the_same_project(failing, candidate, expected):
    assert read_alike(rev(pw(failing, "latest")), pw(candidate, "latest")) is expected
