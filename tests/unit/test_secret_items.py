"""A revision's secrets compared with another's per place read, never one ref per name: a secret volume with
items gives one SecretRef per item (SecretVolumeSource.items, VersionToPath `path` and `version`:
"If specified, the key will be used as the version to fetch from Cloud Secret Manager and the path will be
the name of the file exposed in the volume", google/cloud/run/v2/k8s_min.proto), and one env var name may
be set in two containers. Keyed by "volume NAME" alone, the last item hid the others: items changed from
(v4, v5) to (v5, v5) read as unchanged, and the same items listed in another order as changed."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Revision, SecretRef
from shared.diagnosis.rules.same_release import differences
from shared.diagnosis.secret_refs import pinned_secrets_changed, secrets_changed
from shared.diagnosis.secret_values import read_differently
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, T0, Evidence, deploy_failing

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)
DIGEST = "europe-docker.pkg.dev/p/r/app@sha256:" + "a" * 64


def item(path: str, version: str, secret: str = "db-password", volume: str = "creds") -> SecretRef:
    """One item of a secret volume: the file `path` holding `secret` at `version`."""
    return SecretRef(volume=volume, secret=secret, version=version, path=path)


def env(name: str, version: str, secret: str = "db-password") -> SecretRef:
    return SecretRef(env=name, secret=secret, version=version)


def rev(*secrets: SecretRef) -> Revision:
    return Revision(name="services/backend/revisions/x", service="services/backend", create_time=T0,
                    secrets=secrets, images=(DIGEST,))


CURRENT_4, NEXT_5 = item("password", "4"), item("password.next", "5")
CURRENT_5 = item("password", "5")
D = "db-password version"
# (before, after, secrets_changed, whether the revision before pins every secret it reads)
CHANGED = {
    # A rotation's two files, the current and the next password: the deploy moved the current one.
    "an item moved to the version another item reads": ((CURRENT_4, NEXT_5), (CURRENT_5, NEXT_5),
                                                        [f"volume creds file password from {D} 4 to {D} 5"], True),
    "the same items listed in another order": ((CURRENT_4, NEXT_5), (NEXT_5, CURRENT_4), [], True),
    "an item moved from a pinned version to latest": (
        (CURRENT_4, NEXT_5), (item("password", "latest"), NEXT_5),
        [f"volume creds file password from {D} 4 to {D} latest"], True),
    "an item's path changed": ((CURRENT_4,), (item("pw", "4"),),
                               [f"volume creds file pw now read from {D} 4", f"volume creds file password no longer "
                                                                            f"read from {D} 4"], True),
    "an item removed": ((CURRENT_4, NEXT_5), (CURRENT_4,),
                        [f"volume creds file password.next no longer read from {D} 5"], True),
    "an item added": ((CURRENT_4,), (CURRENT_4, NEXT_5), [f"volume creds file password.next now read from {D} 5"],
                      True),
    "one secret mounted twice, one volume moved": (
        (item("password", "4", volume="a"), item("password", "4", volume="b")),
        (item("password", "4", volume="a"), item("password", "5", volume="b")),
        [f"volume b file password from {D} 4 to {D} 5"], True),
    "two env vars read one secret at two versions, one moved": (
        (env("DB_PASSWORD", "3"), env("DB_PASSWORD_NEXT", "5")), (env("DB_PASSWORD", "5"), env("DB_PASSWORD_NEXT", "5")),
        [f"env DB_PASSWORD from {D} 3 to {D} 5"], True),
    "read by env, then by a volume's file": ((env("DB_PASSWORD", "4"),), (CURRENT_4,),
                                             [f"volume creds file password now read from {D} 4",
                                              f"env DB_PASSWORD no longer read from {D} 4"], True),
    # One env var name set in two containers (the ingress container and a sidecar).
    "one env var in two containers, listed in another order": (
        (env("DB_PASSWORD", "4"), env("DB_PASSWORD", "5")), (env("DB_PASSWORD", "5"), env("DB_PASSWORD", "4")), [],
        True),
    "one env var in two containers, one moved": (
        (env("DB_PASSWORD", "4"), env("DB_PASSWORD", "5")), (env("DB_PASSWORD", "5"), env("DB_PASSWORD", "5")),
        [f"env DB_PASSWORD from {D} 4 and {D} 5 to {D} 5 and {D} 5"], True),
    "a volume with no items, then with one": ((SecretRef(volume="creds", secret="db-password"),), (CURRENT_4,),
                                              [f"volume creds file password now read from {D} 4",
                                               f"volume creds no longer read from {D} unset"], False),
}


@pytest.mark.parametrize("before, after, changed, pinned", CHANGED.values(), ids=CHANGED.keys())
def test_secrets_changed_per_item(before, after, changed, pinned):
    assert secrets_changed(rev(*before), rev(*after)) == changed
    assert pinned_secrets_changed(rev(*before), rev(*after)) == (changed if pinned else [])


LATEST_CONFIG = item("config.json", "latest", secret="app-config", volume="config")
DIFFERENTLY = {
    "an item moved to the version another item reads": ((CURRENT_4, NEXT_5), (CURRENT_5, NEXT_5),
                                                        ["volume creds file password"]),
    "the same items listed in another order": ((CURRENT_4, NEXT_5), (NEXT_5, CURRENT_4), []),
    "an item at latest by id and by path": ((LATEST_CONFIG,),
                                            (item("config.json", "", "projects/p/secrets/app-config", "config"),), []),
    "an item's path changed": ((CURRENT_4,), (item("pw", "4"),), ["volume creds file password", "volume creds file pw"]),
    "an item removed": ((CURRENT_4, NEXT_5), (CURRENT_4,), ["volume creds file password.next"]),
    "one env var in two containers, listed in another order": (
        (env("DB_PASSWORD", "4"), env("DB_PASSWORD", "5")), (env("DB_PASSWORD", "5"), env("DB_PASSWORD", "4")), []),
}


@pytest.mark.parametrize("target, failing, expected", DIFFERENTLY.values(), ids=DIFFERENTLY.keys())
def test_read_differently_per_item(target, failing, expected):
    assert read_differently(rev(*target), rev(*failing)) == expected


@pytest.mark.parametrize("before, after, changed", [
    ((CURRENT_4,), (item("pw", "4"),), True),
    ((CURRENT_4, NEXT_5), (NEXT_5, CURRENT_4), False),
    ((CURRENT_4, NEXT_5), (CURRENT_5, NEXT_5), True),
])
def test_the_same_release_compares_every_item_and_its_path(before, after, changed):
    assert ("secrets read" in differences(rev(*before), rev(*after))) is changed


ASYNCPG = 'asyncpg.exceptions.InvalidPasswordError: password authentication failed for user "orders"'


def password_refused(old: tuple[SecretRef, ...], new: tuple[SecretRef, ...]) -> Evidence:
    """NEW replaced OLD 6 minutes ago on the same connector, and every new connection it opens is refused
    its password; the database is up and the connector quiet."""
    return (Evidence().revision(OLD, -300, sql=(SQL,), env=("10.20.0.5",), secrets=old)
            .revision(NEW, -6, sql=(SQL,), env=("10.20.0.5",), secrets=new)
            .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
            .requests(NEW, -6, 5, 14).requests(NEW, -6, 5, 20, code="500").latency(NEW, -6, 5, 0.5)
            .connector(max_instances=3).connector_metric("instances", -40, 5, 2).connector_metric("cpu", -40, 5, 0.3)
            .connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1).log(-5, ASYNCPG, NEW, count=20))


PASSWORDS = {
    "the deploy moved the mounted current password to the next one's version": ((CURRENT_4, NEXT_5),
                                                                                (CURRENT_5, NEXT_5), ROLLBACK),
    # Nothing read differently: the database's password changed, refused whichever revision sends it.
    "the same files listed in another order": ((CURRENT_4, NEXT_5), (NEXT_5, CURRENT_4), ESCALATE),
    "the same files": ((CURRENT_4, NEXT_5), (CURRENT_4, NEXT_5), ESCALATE),
}


@pytest.mark.parametrize("old, new, expected", PASSWORDS.values(), ids=PASSWORDS.keys())
def test_a_refused_password_is_the_deploys_only_when_it_changed_an_item_read(old, new, expected):
    bundle = password_refused(old, new).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


def test_the_rollback_names_the_file_the_deploy_moved():
    result = diagnose(password_refused((CURRENT_4, NEXT_5), (CURRENT_5, NEXT_5)).bundle(), S)
    assert f"volume creds file password from {D} 4 to {D} 5" in result.summary, result.summary


STRIPE = ("Traceback (most recent call last):\n  File \"/app/payments.py\", line 58, in charge\n"
          "stripe.error.AuthenticationError: Invalid API Key provided: rk_live_*********************7QpZ")
KEY_LATEST = env("API_KEY", "latest", secret="api-key")
KEYS = {
    # The key both read at latest is not all: the deploy moved a pinned file of the volume, a rollback undoes it.
    "a pinned item moved beside a key both read at latest": ((KEY_LATEST, CURRENT_4, NEXT_5),
                                                             (KEY_LATEST, CURRENT_5, NEXT_5), ROLLBACK),
    "the same items in another order beside a key both read at latest": ((KEY_LATEST, CURRENT_4, NEXT_5),
                                                                         (KEY_LATEST, NEXT_5, CURRENT_4), ESCALATE),
}


@pytest.mark.parametrize("old, new, expected", KEYS.values(), ids=KEYS.keys())
def test_a_key_both_read_at_latest_holds_the_rollback_only_when_no_item_changed(old, new, expected):
    e = deploy_failing(OLD, NEW, ((STRIPE, 20),), old_settings=dict(env=("https://api.partner.example/v1",),
                                                                    secrets=old),
                       new_settings=dict(env=("https://api.partner.example/v1",), secrets=new))
    result = diagnose(e.bundle(), S)
    assert (result.signature, plan(result, e.bundle(), S).action) == expected, result.summary
