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


def in_container(name: str, version: str, container: str) -> SecretRef:
    return SecretRef(env=name, secret="db-password", version=version, container=container)


APP_4, APP_5 = in_container("DB_PASSWORD", "4", "app"), in_container("DB_PASSWORD", "5", "app")
SIDE_4, SIDE_5 = in_container("DB_PASSWORD", "4", "proxy"), in_container("DB_PASSWORD", "5", "proxy")
# One env var name set in two containers named by run.py (SecretRef.container): a place per container.
# (before, after, secrets_changed, read_differently)
PER_CONTAINER = {
    "one container moved: named with its container": (
        (APP_4, SIDE_4), (APP_5, SIDE_4), [f"env DB_PASSWORD in container app from {D} 4 to {D} 5"],
        ["env DB_PASSWORD in container app"]),
    "the two containers' versions swapped: a change in each, not hidden": (
        (APP_4, SIDE_5), (APP_5, SIDE_4), [f"env DB_PASSWORD in container app from {D} 4 to {D} 5",
                                           f"env DB_PASSWORD in container proxy from {D} 5 to {D} 4"],
        ["env DB_PASSWORD in container app", "env DB_PASSWORD in container proxy"]),
    "the containers listed in another order: no change": ((APP_4, SIDE_5), (SIDE_5, APP_4), [], []),
    "the same versions: no change": ((APP_4, SIDE_4), (APP_4, SIDE_4), [], []),
}


@pytest.mark.parametrize("before, after, changed, differently", PER_CONTAINER.values(), ids=PER_CONTAINER.keys())
def test_an_env_var_set_in_two_containers_is_compared_per_container(before, after, changed, differently):
    assert secrets_changed(rev(*before), rev(*after)) == changed
    assert read_differently(rev(*before), rev(*after)) == differently


def test_the_revision_names_the_container_of_an_env_var_two_containers_set():
    # Revision.containers (google/cloud/run/v2/revision.proto), each Container.env's secret_key_ref.
    from google.cloud import run_v2

    from shared.gcp.run import revision_from_proto

    def secret(name: str, version: str) -> "run_v2.EnvVar":
        return run_v2.EnvVar(name=name, value_source=run_v2.EnvVarSource(
            secret_key_ref=run_v2.SecretKeySelector(secret="db-password", version=version)))

    proto = run_v2.Revision(
        name="projects/p/locations/r/services/backend/revisions/backend-00002-xyz",
        containers=[run_v2.Container(name="app", image=DIGEST, env=[secret("DB_PASSWORD", "5"), secret("API_KEY", "2")]),
                    run_v2.Container(image=DIGEST, env=[secret("DB_PASSWORD", "4")])])
    refs = revision_from_proto(proto).secrets
    assert [(r.env, r.version, r.container) for r in refs] == [
        ("DB_PASSWORD", "5", "app"), ("API_KEY", "2", ""), ("DB_PASSWORD", "4", "#2")]


def moded(path: str, mode: int, version: str = "4") -> SecretRef:
    return SecretRef(volume="creds", secret="db-password", version=version, path=path, mode=mode)


# (before, after, modes_changed): a secret volume file's mode (SecretRef.mode, after the umask).
MODES = {
    "a file's mode narrowed to its owner": ((moded("password", 0o444),), (moded("password", 0o400),),
                                            ["volume creds file password mode from 0444 to 0400"]),
    "the same mode": ((moded("password", 0o444),), (moded("password", 0o444),), []),
    "a mode and a version changed: the mode named apart": (
        (moded("password", 0o444),), (moded("password", 0o400, "5"),), ["volume creds file password mode from 0444 to 0400"]),
    "a file only one of them exposes: no mode compared (secrets_changed names the file)": (
        (moded("password", 0o444),), (moded("pw", 0o400),), []),
    "a mode not read (0) on one side: not compared": ((moded("password", 0),), (moded("password", 0o400),), []),
}


@pytest.mark.parametrize("before, after, changed", MODES.values(), ids=MODES.keys())
def test_a_secret_files_mode_is_compared(before, after, changed):
    from shared.diagnosis.secret_refs import modes_changed
    assert modes_changed(rev(*before), rev(*after)) == changed
    # A mode is no value: the password rule's change list never counts it.
    assert pinned_secrets_changed(rev(*before), rev(*after)) == secrets_changed(rev(*before), rev(*after))
    assert ("secrets read" in differences(rev(*before), rev(*after))) is (before != after)


@pytest.mark.parametrize("item_mode, default_mode, expected", [
    (0, 0, 0o444),          # neither set: "defaulting to 0444"
    (0, 0o400, 0o400),      # the volume's default_mode
    (0o440, 0o400, 0o440),  # the item's own mode first
    (0o644, 0, 0o444),      # "a umask of 0222 will be applied to any non-zero value"
    (0o755, 0, 0o555),
])
def test_the_file_mode_a_container_sees(item_mode, default_mode, expected):
    from shared.gcp.run import file_mode
    assert file_mode(item_mode, default_mode) == expected


def test_the_revision_reads_each_files_mode():
    from google.cloud import run_v2

    from shared.gcp.run import revision_from_proto

    proto = run_v2.Revision(
        name="projects/p/locations/r/services/backend/revisions/backend-00002-xyz",
        containers=[run_v2.Container(name="app", image=DIGEST)],
        volumes=[run_v2.Volume(name="creds", secret=run_v2.SecretVolumeSource(
            secret="db-password", default_mode=0o400,
            items=[run_v2.VersionToPath(path="password", version="4"),
                   run_v2.VersionToPath(path="password.next", version="5", mode=0o444)]))])
    assert [(r.path, r.mode) for r in revision_from_proto(proto).secrets] == [("password", 0o400),
                                                                              ("password.next", 0o444)]


def test_a_deploy_that_narrowed_a_secret_files_mode_is_named_and_rolled_back():
    # The new code is the same; the file the application opens is now its owner's alone (0400), and a non-root
    # container fails reading it.
    denied = "PermissionError: [Errno 13] Permission denied: '/secrets/password'"
    e = deploy_failing(OLD, NEW, ((denied, 20),), old_settings=dict(secrets=(moded("password", 0o444),)),
                       new_settings=dict(secrets=(moded("password", 0o400),)))
    bundle = e.bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == ROLLBACK, result.summary
    assert "volume creds file password mode from 0444 to 0400" in result.summary, result.summary
