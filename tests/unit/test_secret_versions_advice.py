"""startup_config_failure's advice on the secret versions its refusals name (`_versions_advice`): whether the
revision the newest replaced pins one of them, so that sending traffic back would meet the same refusal. Each
secret is compared by its full name (secret_refs.secret_name, one_secret), as secrets_changed compares them: a
revision names its own project's secret by id alone and another project's in full ("{secret_name} if the secret
is in the same project. projects/{project}/secrets/{secret_name} if the secret is in a different project",
SecretKeySelector.secret, google/cloud/run/v2/k8s_min.proto). By the id alone, project A's refusal was said to
await a rollback to a revision pinning project B's secret of that id, and a ref written with its version
(".../secrets/S/versions/V", seen in the wild) was never matched."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import SecretRef
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import startup_config_failure

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
SYSTEM = "run.googleapis.com/varlog/system"


def refused(secret: str) -> str:
    """Cloud Run's refusal of a disabled version, as it names it (tests/unit/test_rule_recommendations.py)."""
    return (f'Could not fetch secret "{secret}/versions/7" for environment variable "DB_PASSWORD". Instance startup '
            f'will now abort: Secret Version [{secret.rsplit("/", 1)[-1]}/versions/7] is in DISABLED state.')


def advice(pinned: str, line: str) -> str:
    """The recommendation when OLD (of project demo, tests/unit/builders.py) pins `pinned` at version 7 and NEW,
    deployed 10 minutes ago, logs `line` at every start."""
    ref = SecretRef(env="DB_PASSWORD", secret=pinned, version="7")
    e = quiet_connector(Evidence().revision(OLD, -180, sql=(SQL,), secrets=(ref,))
                        .revision(NEW, -10, sql=(SQL,), secrets=(ref,)).traffic(**{NEW: 100})
                        .requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 20, code="503").latency(NEW, -10, 5, 1.0)
                        .log(-3, line, NEW, count=5, log_id=SYSTEM))
    finding = startup_config_failure.evaluate(Facts(e.bundle(), S))
    assert finding.matched, finding
    return finding.recommendation


PINS_TOO = "which backend-00001-abc pins too"
CASES = {
    "its own secret by id, refused by its project's id": ("db-pass", refused("projects/demo/secrets/db-pass"), True),
    "its own secret by id, refused by a project number": ("db-pass", refused("projects/4012/secrets/db-pass"), True),
    "another project's, refused in that project": ("projects/shared/secrets/db-pass",
                                                   refused("projects/shared/secrets/db-pass"), True),
    "written with its version": ("projects/demo/secrets/db-pass/versions/7",
                                 refused("projects/demo/secrets/db-pass"), True),
    "another project's secret of that id": ("projects/shared/secrets/db-pass",
                                            refused("projects/demo/secrets/db-pass"), False),
    "its own, when another project's is refused": ("db-pass", refused("projects/shared/secrets/db-pass"), False),
    "another secret": ("api-key", refused("projects/demo/secrets/db-pass"), False),
}


@pytest.mark.parametrize("pinned, line, pins_too", CASES.values(), ids=CASES.keys())
def test_the_advice_compares_secrets_by_their_full_names(pinned, line, pins_too):
    said = advice(pinned, line)
    assert "the lines name db-pass version 7" in said, said
    assert (PINS_TOO in said) is pins_too, said


# A secret encrypted with a customer-managed key whose key version was disabled: Cloud Run's refusal carries the
# Cloud KMS version's name in KMS's own words ("... is not enabled, current state is: DISABLED", Cloud KMS's
# FAILED_PRECONDITION as sethvargo/vault-on-gke issue #56 quotes it); Secret Manager's wrapping of it UNCONFIRMED.
KEY = "projects/sec-keys/locations/us-central1/keyRings/app/cryptoKeys/secrets-cmek"
KMS_REFUSED = {
    "KMS's own words": (f'Could not fetch secret "projects/demo/secrets/db-pass/versions/7" for environment variable '
                        f'"DB_PASSWORD". Instance startup will now abort: {KEY}/cryptoKeyVersions/3 is not enabled, '
                        "current state is: DISABLED."),
    "the key named without its version": (f'Could not fetch secret "projects/demo/secrets/db-pass/versions/7": the '
                                          f"Cloud KMS key [{KEY}] used to encrypt it is not enabled"),
}


@pytest.mark.parametrize("line", KMS_REFUSED.values(), ids=KMS_REFUSED.keys())
def test_a_secret_whose_kms_key_is_disabled_names_the_key_not_the_version(line):
    said = advice("db-pass", line)

    assert said.startswith("enable the Cloud KMS key version the secret is encrypted with"), said
    assert KEY in said, said
    assert "enable the secret version the revision reads again" not in said, said


def test_a_secret_refusal_naming_no_key_keeps_the_versions_advice():
    said = advice("db-pass", refused("projects/demo/secrets/db-pass"))

    assert "Cloud KMS" not in said and said.startswith("enable the secret version the revision reads again"), said


# The key's refusal decides the step (Cloud KMS, "Destroy and restore key versions"; Secret Manager, "Enable
# customer-managed encryption keys (CMEK) for Secret Manager"): a destroyed key version cannot be enabled nor its data
# decrypted; a scheduled one can be restored; a refused permission is the Secret Manager service agent's role.
HEAD = ('Could not fetch secret "projects/demo/secrets/db-pass/versions/7" for environment variable "DB_PASSWORD". '
        "Instance startup will now abort: ")
KEY_REFUSALS = {
    "destroyed": (f"{KEY}/cryptoKeyVersions/3 is not enabled, current state is: DESTROYED.", "add a new secret version",
                  "enable the Cloud KMS key version"),
    "scheduled for destruction": (f"{KEY}/cryptoKeyVersions/3 is not enabled, current state is: DESTROY_SCHEDULED.",
                                  "restore the Cloud KMS key version", "add a new secret version"),
    "permission denied on the key": (f"Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource '{KEY}' "
                                     "(or it may not exist).", "grant the Secret Manager service agent",
                                     "enable the Cloud KMS key version"),
    "destroyed, is in state": (f"The key version {KEY}/cryptoKeyVersions/3 is in state DESTROYED.",
                               "add a new secret version", "enable the Cloud KMS key version"),
    "destroyed, has state": (f"KMS key version {KEY}/cryptoKeyVersions/3 has state DESTROYED.",
                             "add a new secret version", "enable the Cloud KMS key version"),
    "destroyed, the state beside the name": (f"FAILED_PRECONDITION: {KEY}/cryptoKeyVersions/3: DESTROYED.",
                                             "add a new secret version", "enable the Cloud KMS key version"),
    "scheduled, the state beside the name": (f"FAILED_PRECONDITION: {KEY}/cryptoKeyVersions/3: DESTROY_SCHEDULED.",
                                             "restore the Cloud KMS key version", "add a new secret version"),
    "disabled": (f"{KEY}/cryptoKeyVersions/3 is not enabled, current state is: DISABLED.",
                 "enable the Cloud KMS key version", "add a new secret version"),
}


@pytest.mark.parametrize("said_of_the_key, step, not_step", KEY_REFUSALS.values(), ids=KEY_REFUSALS.keys())
def test_a_kms_keys_refusal_gets_the_step_for_its_state(said_of_the_key, step, not_step):
    said = advice("db-pass", HEAD + said_of_the_key)

    assert said.startswith(step) and KEY in said, said
    assert not_step not in said and "enable the secret version the revision reads again" not in said, said


@pytest.mark.parametrize("state", ["DISABLED", "DESTROYED"])
def test_a_secret_versions_own_state_beside_a_named_key_keeps_the_versions_advice(state):
    said = advice("db-pass", HEAD + f"Secret Version [db-pass/versions/7] is in {state} state "
                  f"(kmsKeyVersionName: {KEY}/cryptoKeyVersions/3).")

    assert said.startswith("enable the secret version the revision reads again") and "Cloud KMS" not in said, said
