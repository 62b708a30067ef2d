"""Secrets a deploy changed, or did not: Cloud Run resolves a secret env var at instance startup
("Configure secrets": pin a version "instead of using latest"), so a revision that pins every secret
brings its accepted password back on a rollback, and one that reads "latest" brings back whatever
Secret Manager holds now. A failed lookup that names no host is tied to the one host name a deploy
swapped only when no secret the new revision reads may hold another name."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Revision, SecretRef
from shared.diagnosis.secret_refs import pinned_secrets_changed, secrets_changed, secrets_that_may_name_hosts
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, T0, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)


def env(name: str, secret: str, version: str) -> SecretRef:
    return SecretRef(env=name, secret=secret, version=version)


PASSWORD_4, PASSWORD_5 = env("DB_PASSWORD", "db-password", "4"), env("DB_PASSWORD", "db-password", "5")
PASSWORD_LATEST = env("DB_PASSWORD", "db-password", "latest")
URL_SECRET = env("DATABASE_URL", "database-url", "3")
CONFIG_VOLUME = SecretRef(volume="config", secret="app-config", version="")


def deployed(old: tuple[SecretRef, ...], new: tuple[SecretRef, ...], text: str, old_env: tuple[str, ...] = (),
             new_env: tuple[str, ...] = ()) -> Evidence:
    """NEW replaced OLD 6 minutes ago on the same connector and egress, and every request needing a new
    connection fails with `text`; the database is up and the connector quiet."""
    return (Evidence().revision(OLD, -300, sql=(SQL,), env=old_env, secrets=old)
            .revision(NEW, -6, sql=(SQL,), env=new_env, secrets=new)
            .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
            .requests(NEW, -6, 5, 14).requests(NEW, -6, 5, 20, code="500").latency(NEW, -6, 5, 0.5)
            .connector(max_instances=3).connector_metric("instances", -40, 5, 2).connector_metric("cpu", -40, 5, 0.3)
            .connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1).log(-5, text, NEW, count=20))


ASYNCPG = 'asyncpg.exceptions.InvalidPasswordError: password authentication failed for user "orders"'
LIBPQ = 'psycopg2.OperationalError: FATAL:  password authentication failed for user "orders"'
PASSWORDS = {
    "the deploy pinned another version of the password": ((PASSWORD_4,), (PASSWORD_5,), ASYNCPG, ROLLBACK),
    "the deploy pinned another secret for the password": ((PASSWORD_4,), (env("DB_PASSWORD", "db-pass-v2", "1"),),
                                                          LIBPQ, ROLLBACK),
    "the deploy moved the password from a pinned version to latest": ((PASSWORD_4,), (PASSWORD_LATEST,), LIBPQ,
                                                                      ROLLBACK),
    # A password rotated in Secret Manager around the deploy: both revisions' new instances read it.
    "both read latest (a rotation breaks both)": ((PASSWORD_LATEST,), (PASSWORD_LATEST,), ASYNCPG, ESCALATE),
    "the revision before read latest, the deploy pinned": ((PASSWORD_LATEST,), (PASSWORD_5,), ASYNCPG, ESCALATE),
    "the same pinned version on both (the database's password changed)": ((PASSWORD_4,), (PASSWORD_4,), ASYNCPG,
                                                                          ESCALATE),
    "the revision before pins the password but reads another secret at latest": (
        (PASSWORD_4, env("API_KEY", "api-key", "latest")), (PASSWORD_5, env("API_KEY", "api-key", "latest")),
        ASYNCPG, ESCALATE),
    "no secret read on either (a password in a file or the image)": ((), (), ASYNCPG, ESCALATE),
}


@pytest.mark.parametrize("old, new, text, expected", PASSWORDS.values(), ids=PASSWORDS.keys())
def test_a_password_refused_is_rolled_back_only_when_the_deploy_changed_a_pinned_secret(old, new, text, expected):
    bundle = deployed(old, new, text, ("10.20.0.5",), ("10.20.0.5",)).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


def test_the_rollback_names_the_secret_version_the_deploy_changed():
    bundle = deployed((PASSWORD_4,), (PASSWORD_5,), ASYNCPG, ("10.20.0.5",), ("10.20.0.5",)).bundle()
    result = diagnose(bundle, S)
    assert "secret env DB_PASSWORD from db-password version 4 to db-password version 5" in result.summary


GOOD, TYPO = "orders-db.db.internal.example", "orders-db.db.interal.example"
BARE = ('Traceback (most recent call last):\n  File "/usr/local/lib/python3.11/socket.py", line 962, in getaddrinfo\n'
        "    for res in _socket.getaddrinfo(host, port, family, type, proto, flags):\n"
        "socket.gaierror: [Errno -2] Name or service not known")
NODE = f"Error: getaddrinfo ENOTFOUND {TYPO}\n    at GetAddrInfoReqWrap.onlookup [as oncomplete] (node:dns:107:26)"
CACHE_A, CACHE_B = "cache-a.cache.internal.example", "cache-b.cache.internal.example"
LOOKUPS = {
    "one host swapped, only a password from Secret Manager": ((GOOD,), (TYPO,), (PASSWORD_4,), BARE, ROLLBACK),
    "one host swapped, the password at latest (a credential names no host)": ((GOOD,), (TYPO,), (PASSWORD_LATEST,),
                                                                              BARE, ROLLBACK),
    # The database's URL is a secret: its host is looked up too, and a record deleted under it fails
    # lines that name no host as the swapped cache host would.
    "the cache host swapped, the database's URL a secret": ((CACHE_A,), (CACHE_B,), (URL_SECRET, PASSWORD_4), BARE,
                                                            ESCALATE),
    "the cache host swapped, a config file from a secret volume": ((CACHE_A,), (CACHE_B,), (CONFIG_VOLUME,), BARE,
                                                                    ESCALATE),
    "the lines name the host the deploy brought, the database's URL a secret": ((GOOD,), (TYPO,), (URL_SECRET,),
                                                                                 NODE, ROLLBACK),
}


@pytest.mark.parametrize("old_env, new_env, secrets, text, expected", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_lookups_naming_no_host_are_the_swaps_only_when_no_secret_may_name_a_host(old_env, new_env, secrets, text,
                                                                                  expected):
    bundle = deployed(secrets, secrets, text, old_env, new_env).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


def rev(*secrets: SecretRef) -> Revision:
    return Revision(name="projects/p/locations/l/services/s/revisions/r", service="projects/p/locations/l/services/s",
                    create_time=T0, secrets=secrets)


@pytest.mark.parametrize("refs, may", [
    ((PASSWORD_4,), []), ((env("API_TOKEN", "t", "1"), env("STRIPE_KEY", "k", "2"), env("SESSION_SECRET", "s", "3"),
                           env("PGPASSWORD", "p", "4"), env("db_pass", "p", "5")), []),
    ((URL_SECRET,), ["env DATABASE_URL"]), ((env("REDIS_DSN", "r", "1"),), ["env REDIS_DSN"]),
    ((env("KEYCLOAK_URL", "k", "1"),), ["env KEYCLOAK_URL"]), ((CONFIG_VOLUME,), ["volume config"]),
    ((), []),
])
def test_secrets_that_may_name_hosts(refs, may):
    assert secrets_that_may_name_hosts(rev(*refs)) == may


@pytest.mark.parametrize("before, after, changed, pinned", [
    ((PASSWORD_4,), (PASSWORD_4,), [], []),
    ((PASSWORD_4,), (PASSWORD_5,), ["env DB_PASSWORD from db-password version 4 to db-password version 5"], True),
    ((PASSWORD_LATEST,), (PASSWORD_5,), ["env DB_PASSWORD from db-password version latest to db-password version 5"],
     False),
    ((PASSWORD_4,), (PASSWORD_4, URL_SECRET), ["env DATABASE_URL now read from database-url version 3"], True),
    ((SecretRef(volume="config", secret="c", version="7"),), (SecretRef(volume="config", secret="c", version="8"),),
     ["volume config from c version 7 to c version 8"], True),
    ((PASSWORD_4, URL_SECRET), (URL_SECRET,), ["env DB_PASSWORD no longer read from db-password version 4"], True),
    ((SecretRef(volume="config", secret="c"),), (SecretRef(volume="config", secret="c", version="8"),),
     ["volume config from c version unset to c version 8"], False),
])
def test_secrets_changed_and_whether_a_rollback_restores_them(before, after, changed, pinned):
    assert secrets_changed(rev(*before), rev(*after)) == changed
    assert pinned_secrets_changed(rev(*before), rev(*after)) == (changed if pinned else [])
