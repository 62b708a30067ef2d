"""bad_revision when the new revision's failures are what a broken secret value gives (a downstream
refusing the key it sends, a configuration it cannot parse as it starts) and the rollback target reads
the same secret at "latest": Cloud Run resolves a secret env var "at instance startup time" and reads a
mounted one "with the latest version" ("Configure secrets for services"), so the target's new instances
would read the very version the failing ones do. The rollback is held and a person looks at the secret,
unless the deploy itself changed what is read (another secret or version, a plain credential, the host
the key is sent to), or the failures are the new code's own."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Revision, SecretRef
from shared.diagnosis.secret_values import (CONFIG, CREDENTIAL, may_hold, read_at_latest_by_both, read_differently,
                                           value_failure)
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import T0, Evidence, deploy_failing

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)

STRIPE = ("Traceback (most recent call last):\n  File \"/app/payments.py\", line 58, in charge\n"
          "stripe.error.AuthenticationError: Invalid API Key provided: rk_live_*********************7QpZ")
REQUESTS_401 = "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://api.partner.example/v1/x"
AXIOS_401 = "rates failed: AxiosError: Request failed with status code 401"
JSON_CONFIG = ("Traceback (most recent call last):\n  File \"/app/settings.py\", line 31, in load_settings\n"
               "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 27 column 1")
OWN = "AttributeError: 'NoneType' object has no attribute 'currency'"
ASYNCPG = 'asyncpg.exceptions.InvalidPasswordError: password authentication failed for user "orders"'

VALUE_FAILURES = {
    "Stripe's invalid key (python)": (STRIPE, CREDENTIAL),
    "requests' 401": (REQUESTS_401, CREDENTIAL),
    "httpx's 401": ("httpx.HTTPStatusError: Client error '401 Unauthorized' for url 'https://api.example/v1'",
                    CREDENTIAL),
    "aiohttp's 401": ("aiohttp.client_exceptions.ClientResponseError: 401, message='Unauthorized', url='https://a/'",
                      CREDENTIAL),
    "axios' 401": (AXIOS_401, CREDENTIAL),
    "Spring's 401": ("org.springframework.web.client.HttpClientErrorException$Unauthorized: 401 Unauthorized: "
                     "[no body]", CREDENTIAL),
    "Google's API key": ("google.api_core.exceptions.BadRequest: 400 API key not valid. Please pass a valid API key. "
                         "[reason: \"API_KEY_INVALID\"]", CREDENTIAL),
    "OAuth's invalid_client": ('token request failed: {"error":"invalid_client","error_description":"bad secret"}',
                               CREDENTIAL),
    "CPython's json": (JSON_CONFIG, CONFIG),
    "V8's JSON.parse": ("SyntaxError: Expected double-quoted property name in JSON at position 811", CONFIG),
    "V8's end of JSON": ("SyntaxError: Unexpected end of JSON input", CONFIG),
    "Go's encoding/json": ("config: invalid character '}' looking for beginning of object key string", CONFIG),
    "PyYAML": ("yaml.scanner.ScannerError: mapping values are not allowed here", CONFIG),
    "Go's yaml": ("load config: yaml: line 14: did not find expected key", CONFIG),
    "Jackson": ("com.fasterxml.jackson.core.JsonParseException: Unexpected character ('}' (code 125))", CONFIG),
    # Not a value's failure: the code's own, a 403 (a permission, not a key), the app's own access log line,
    # a downstream's 5xx.
    "the code's own": (OWN, ""),
    "a bare 403": ("requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: https://a/v1", ""),
    "the app's own 401 answer": ('INFO: 169.254.1.1:0 - "POST /v1/checkout HTTP/1.1" 401 Unauthorized', ""),
    "a downstream's 503": ("requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://a/",
                           ""),
}


@pytest.mark.parametrize("text, kind", VALUE_FAILURES.values(), ids=VALUE_FAILURES.keys())
def test_what_a_line_says_a_broken_value_did(text, kind):
    assert value_failure(text) == kind


def env(name: str, secret: str, version: str) -> SecretRef:
    return SecretRef(env=name, secret=secret, version=version)


KEY_LATEST, KEY_8 = env("API_KEY", "api-key", "latest"), env("API_KEY", "api-key", "8")
KEY_UNSET = env("API_KEY", "api-key", "")
# The same secret named in full: the builders' revisions are in project "demo" (builders.PROJECT).
KEY_PATH = env("API_KEY", "projects/demo/secrets/api-key", "latest")
# Another project's secret with the same id (SecretKeySelector.secret: "projects/{project}/secrets/{secret_name}
# if the secret is in a different project", google/cloud/run/v2/k8s_min.proto): another secret.
KEY_ELSEWHERE = env("API_KEY", "projects/billing-prod/secrets/api-key", "latest")
CONFIG_VOLUME = SecretRef(volume="config", secret="app-config", version="latest")
CONFIG_ENV = env("CONFIG_JSON", "app-config", "latest")
PASSWORD_4 = env("DB_PASSWORD", "db-password", "4")


def rev(*secrets: SecretRef) -> Revision:
    return Revision(name="services/backend/revisions/x", service="services/backend", create_time=T0, secrets=secrets)


AT_LATEST = {
    "both latest": ((KEY_LATEST,), (KEY_LATEST,), ["api-key"]),
    "unset reads latest": ((KEY_UNSET,), (KEY_LATEST,), ["api-key"]),
    "named by path on one": ((KEY_LATEST,), (KEY_PATH,), ["projects/demo/secrets/api-key"]),
    "the target pins it": ((KEY_8,), (KEY_LATEST,), []),
    "the failing one pins it": ((KEY_LATEST,), (KEY_8,), []),
    "only the failing one reads it": ((PASSWORD_4,), (PASSWORD_4, KEY_LATEST), []),
    "the same secret as a volume and an env var": ((CONFIG_VOLUME,), (CONFIG_ENV,), ["app-config"]),
}


@pytest.mark.parametrize("target, failing, expected", AT_LATEST.values(), ids=AT_LATEST.keys())
def test_the_secrets_both_read_at_latest(target, failing, expected):
    assert [ref.secret for ref in read_at_latest_by_both(rev(*target), rev(*failing))] == expected


DIFFERENTLY = {
    "the same at latest": ((KEY_LATEST,), (KEY_LATEST,), []),
    "unset and latest": ((KEY_UNSET,), (KEY_LATEST,), []),
    "by id and by path, both latest": ((KEY_LATEST,), (KEY_PATH,), []),
    "the same pinned version": ((KEY_8, PASSWORD_4), (KEY_8, PASSWORD_4), []),
    "pinned to latest": ((KEY_8,), (KEY_LATEST,), ["env API_KEY"]),
    "another secret at latest": ((env("API_KEY", "other", "latest"),), (KEY_LATEST,), ["env API_KEY"]),
    "a secret added": ((KEY_LATEST,), (KEY_LATEST, PASSWORD_4), ["env DB_PASSWORD"]),
    "a secret gone": ((KEY_LATEST, PASSWORD_4), (KEY_LATEST,), ["env DB_PASSWORD"]),
}


@pytest.mark.parametrize("target, failing, expected", DIFFERENTLY.values(), ids=DIFFERENTLY.keys())
def test_what_the_deploy_reads_differently_for_a_new_instance(target, failing, expected):
    assert read_differently(rev(*target), rev(*failing)) == expected


@pytest.mark.parametrize("ref, kind, holds", [
    (KEY_LATEST, CREDENTIAL, True), (CONFIG_VOLUME, CREDENTIAL, True), (CONFIG_VOLUME, CONFIG, True),
    (CONFIG_ENV, CONFIG, True), (KEY_LATEST, CONFIG, False), (env("DB_PASSWORD", "p", "latest"), CONFIG, False),
])
def test_which_secret_may_hold_what_failed(ref, kind, holds):
    assert may_hold(ref, kind) is holds


def deployed(old: tuple[SecretRef, ...], new: tuple[SecretRef, ...], lines: tuple[tuple[str, int], ...],
             starts: int = 0, old_env: tuple[str, ...] = ("https://api.partner.example/v1",),
             new_env: tuple[str, ...] = ("https://api.partner.example/v1",)) -> Evidence:
    """NEW replaced OLD 6 minutes ago on the same connector and egress, and 59% of its requests fail; it
    logs `lines` (text, count) at ERROR, and `starts` of Cloud Run's exits of an instance that failed to
    start; the database is up and the connector quiet (`builders.deploy_failing`)."""
    return deploy_failing(OLD, NEW, lines, old_settings=dict(env=old_env, secrets=old),
                          new_settings=dict(env=new_env, secrets=new), starts=starts)


CASES = {
    "a key both read at latest refused": ((KEY_LATEST,), (KEY_LATEST,), ((STRIPE, 20),), 0, None, ESCALATE),
    "refused by requests, the key unset on the target": ((KEY_UNSET,), (KEY_LATEST,), ((REQUESTS_401, 20),), 0, None,
                                                         ESCALATE),
    "refused by axios, the key named by path on the new revision": ((KEY_LATEST,), (KEY_PATH,), ((AXIOS_401, 20),), 0,
                                                                     None, ESCALATE),
    # The deploy read the key from another project's secret of the same id: a rollback reads the own project's
    # again (read by id alone, both "read api-key at latest" and the rollback was held).
    "the deploy read the key from another project's secret of the same id": (
        (KEY_LATEST,), (KEY_ELSEWHERE,), ((AXIOS_401, 20),), 0, None, ROLLBACK),
    "the deploy moved the key back from another project's secret": (
        (KEY_ELSEWHERE,), (KEY_PATH,), ((STRIPE, 20),), 0, None, ROLLBACK),
    "a config both mount at latest not parsed at start": ((CONFIG_VOLUME,), (CONFIG_VOLUME,), ((JSON_CONFIG, 6),), 6,
                                                          None, ESCALATE),
    "refusals with a few of its own beside": ((KEY_LATEST,), (KEY_LATEST,), ((STRIPE, 12), (OWN, 6)), 0, None,
                                              ESCALATE),
    # The deploy changed what is read: a rollback undoes it.
    "the deploy moved the key from a pinned version to latest": ((KEY_8,), (KEY_LATEST,), ((STRIPE, 20),), 0, None,
                                                                 ROLLBACK),
    "the deploy read the key from another secret": ((env("API_KEY", "api-key-old", "latest"),), (KEY_LATEST,),
                                                    ((STRIPE, 20),), 0, None, ROLLBACK),
    "the deploy changed another secret it reads": ((KEY_LATEST, PASSWORD_4),
                                                   (KEY_LATEST, env("DB_PASSWORD", "db-password", "5")),
                                                   ((STRIPE, 20),), 0, None, ROLLBACK),
    "the deploy sent the key to another host": ((KEY_LATEST,), (KEY_LATEST,), ((REQUESTS_401.replace(
        "api.partner", "sandbox.partner"), 20),), 0, ("https://sandbox.partner.example/v1",), ROLLBACK),
    # The failures are not what a broken value gives.
    "the new code's own failures": ((KEY_LATEST, CONFIG_VOLUME), (KEY_LATEST, CONFIG_VOLUME), ((OWN, 20),), 0, None,
                                    ROLLBACK),
    "its own failures outnumber the refusals": ((KEY_LATEST,), (KEY_LATEST,), ((STRIPE, 5), (OWN, 15)), 0, None,
                                                ROLLBACK),
    "two refusals only": ((KEY_LATEST,), (KEY_LATEST,), ((STRIPE, 2),), 0, None, ROLLBACK),
    "a parse failure while serving (no failed start)": ((CONFIG_VOLUME,), (CONFIG_VOLUME,), ((JSON_CONFIG, 20),), 0,
                                                        None, ROLLBACK),
    "a parse failure at start, but only a key read at latest": ((KEY_LATEST,), (KEY_LATEST,), ((JSON_CONFIG, 6),), 6,
                                                                None, ROLLBACK),
    # Both pin the same version: the same key, refused whichever revision sends it (rules/answered_alike.py;
    # a rollback before, the gap a key revoked at the provider fell through).
    "the same pinned version on both": ((KEY_8,), (KEY_8,), ((STRIPE, 20),), 0, None, ESCALATE),
}


@pytest.mark.parametrize("old, new, lines, starts, new_env, expected", CASES.values(), ids=CASES.keys())
def test_a_rollback_to_a_revision_reading_the_same_secret_at_latest_is_held(old, new, lines, starts, new_env,
                                                                              expected):
    e = deployed(old, new, lines, starts, **({"new_env": new_env} if new_env else {}))
    result = diagnose(e.bundle(), S)
    assert (result.signature, plan(result, e.bundle(), S).action) == expected, result.summary


def test_the_escalation_names_the_secret_and_what_to_check():
    result = diagnose(deployed((KEY_LATEST,), (KEY_LATEST,), ((STRIPE, 20),)).bundle(), S)
    said = result.model_dump_json()
    assert "api-key (env API_KEY)" in result.summary and "at latest too" in result.summary, result.summary
    assert "Invalid API Key provided" in result.summary, result.summary
    assert "newest version of api-key in Secret Manager" in result.summary and "pin the revisions" in result.summary


def test_a_password_both_read_at_latest_is_still_the_databases_to_judge():
    """The database's refusals are database_unreachable's (its _credentials_changed): they compete with
    the deploy as before, not held here."""
    password = env("DB_PASSWORD", "db-password", "latest")
    result = diagnose(deployed((password,), (password,), ((ASYNCPG, 20),)).bundle(), S)
    assert result.signature is Signature.INCONCLUSIVE
    assert set(result.competing) == {Signature.BAD_REVISION, Signature.DATABASE_UNREACHABLE}, result.summary
