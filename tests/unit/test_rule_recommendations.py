"""What a rule tells a person to do names only the parts the service has and the fix its evidence
points at: a connector only when a serving revision routes through one (never on Direct VPC egress
or with no VPC access), the Direct VPC egress subnet's path when that is the way to the database
(never "the path looks healthy" for a path Runwarden reads no metric of), an IAM grant only for a
secret IAM refused (a disabled version is refused to every account alike), and the part a
configuration failure's reason names (an image, a key), not a secret it may not use."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Condition
from shared.diagnosis.signatures import Signature

from tests.unit.builders import CONNECTOR, SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, PSYCOPG, deployed, quiet_connector

S = DiagnosisSettings()
DIRECT = ("shop-vpc/run-egress",)
TOO_MANY = "psycopg2.OperationalError: FATAL: sorry, too many clients already"


def _database_errors(path: str, text: str) -> Evidence:
    """One revision serving for hours; from -15m a third of its requests 500 with `text` in its
    logs; reached over `path` (a connector, Direct VPC egress, or no VPC access); Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), connector=CONNECTOR if path == "connector" else None,
                             network_interfaces=DIRECT if path == "direct" else ())
         .traffic(**{OLD: 100}).requests(OLD, -90, 5, 40).requests(OLD, -15, 5, 20, code="500")
         .latency(OLD, -90, 5, 0.3).log(-5, text, OLD, count=20))
    return quiet_connector(e) if path == "connector" else e.sql_up(-20, 5, 1)


# (path, text) -> words the summary or recommendation must hold; words the recommendation must not
# hold; words the summary must not hold
DATABASE = {
    "connection limit, through a connector: scaling it brings more connections": (
        "connector", TOO_MANY, ["scaling connector backend-conn would only bring more connections"], [], []),
    "connection limit on Direct VPC egress: no connector named": (
        "direct", TOO_MANY, ["max_connections"], ["connector"], []),
    "connection limit with no VPC access: no connector named": (
        "none", TOO_MANY, ["max_connections"], ["connector"], []),
    "dial errors through a connector: its range's path (unchanged)": (
        "connector", PSYCOPG, ["connector backend-conn's range"], ["Direct VPC"], ["looks healthy"]),
    "dial errors on Direct VPC egress: the egress subnet's path, never 'looks healthy'": (
        "direct", PSYCOPG, ["Direct VPC egress (shop-vpc/run-egress)", "firewall rules"], ["connector"],
        ["looks healthy"]),
    "dial errors with no VPC access: no connector, no Direct VPC egress, never 'looks healthy'": (
        "none", PSYCOPG, ["check Cloud SQL reachability"], ["connector", "Direct VPC"], ["looks healthy"]),
}


@pytest.mark.parametrize("path, text, named, not_advised, not_said", DATABASE.values(), ids=DATABASE.keys())
def test_database_advice_names_only_the_path_the_service_has(path, text, named, not_advised, not_said):
    result = diagnose(_database_errors(path, text).bundle(), S)

    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    said = f"{result.summary} || {result.recommendation}"
    for words in named:
        assert words in said, (words, said)
    for words in not_advised:
        assert words not in result.recommendation, (words, result.recommendation)
    for words in not_said:
        assert words not in result.summary, (words, result.summary)


SYSTEM = "run.googleapis.com/varlog/system"
DISABLED = ('Could not fetch secret "projects/4012/secrets/ledger-db-password/versions/7" for environment variable '
            '"DB_PASSWORD". Instance startup will now abort: Secret Version [ledger-db-password/versions/7] is in '
            "DISABLED state.")
DENIED = ("spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Permission denied on secret: "
          "projects/1/secrets/db-pass/versions/latest for Revision service account backend@demo.iam.gserviceaccount.com")


def _secret_failures(text: str) -> Evidence:
    return quiet_connector(Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
                           .requests(OLD, -15, 5, 20, code="503").latency(OLD, -15, 5, 1.0)
                           .log(-3, text, OLD, count=5, log_id=SYSTEM))


def _condition(reason: str, message: str) -> Evidence:
    return quiet_connector(deployed(Evidence(), conditions=(
        Condition(type="Ready", state="CONDITION_FAILED", reason=reason, message=message),)))


# situation -> words the recommendation must hold, and must not
CONFIGURATION = {
    "a disabled secret version: enable or pin, no role to grant": (
        lambda: _secret_failures(DISABLED), ["enable the secret version"], ["secretAccessor"]),
    "IAM refused the secret: grant the role": (
        lambda: _secret_failures(DENIED), ["roles/secretmanager.secretAccessor"], ["enable the secret version"]),
    "the image is missing: the image, not a secret": (
        lambda: _condition("CONTAINER_MISSING", "Image 'us-docker.pkg.dev/demo/app/backend:v2' not found."),
        ["container image"], ["secret"]),
    "the encryption key is refused: the key, not a secret": (
        lambda: _condition("ENCRYPTION_KEY_PERMISSION_DENIED", "permission denied on the CMEK key"),
        ["encryption key"], ["secret"]),
    "the secret check failed: the secret, not an image": (
        lambda: _condition("SECRETS_ACCESS_CHECK_FAILED", "Secret projects/1/secrets/api-key/versions/latest was "
                                                          "not found"), ["secret"], ["image"]),
}


@pytest.mark.parametrize("build, named, unnamed", CONFIGURATION.values(), ids=CONFIGURATION.keys())
def test_configuration_advice_names_what_failed(build, named, unnamed):
    result = diagnose(build().bundle(), S)

    assert result.signature is Signature.STARTUP_CONFIG_FAILURE, result.summary
    for words in named:
        assert words in result.recommendation, (words, result.recommendation)
    for words in unnamed:
        assert words not in result.recommendation, (words, result.recommendation)
