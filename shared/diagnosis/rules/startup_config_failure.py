"""startup_config_failure: instances cannot start because of configuration: a missing secret,
denied secret access, a missing image or permission. Seen in a revision's conditions and logs."""
from __future__ import annotations

import re

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal, found_in, pattern_of, per_text
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.secret_refs import one_secret, secret_name
from shared.diagnosis.signatures import Finding, Signature

# Condition reasons that mean "the configuration is wrong", not "the code is wrong".
CONFIG_REASONS = frozenset({
    "SECRETS_ACCESS_CHECK_FAILED", "CONTAINER_MISSING", "CONTAINER_PERMISSION_DENIED",
    "ENCRYPTION_KEY_PERMISSION_DENIED", "ENCRYPTION_KEY_CHECK_FAILED",
})


def evaluate(facts: Facts) -> Finding:
    s = facts.s
    c = Citation(Signature.STARTUP_CONFIG_FAILURE)
    # Only a serving revision's failures reach callers: a failed deploy leaves traffic where it was.
    newest = facts.newest_serving
    if newest is None:
        return c.no("no revision of the service is receiving traffic")
    failed = [cond for cond in newest.conditions if cond.reason in CONFIG_REASONS]
    c.cite("api", f"run.revisions.get {newest.short_name}: conditions",
           "; ".join(f"{x.type}={x.state} {x.reason}" for x in newest.conditions) or "none",
           "a reason in " + ", ".join(sorted(CONFIG_REASONS)), bool(failed))
    secrets = facts.log_matches(LogSignal.SECRET_FAILURE)
    c.cite("log", f"varlog/system, stderr: {pattern_of(LogSignal.SECRET_FAILURE)}",
           f"{len(secrets)} entries" + (f", e.g. {excerpt(secrets[0].text)!r}" if secrets else ""),
           f">= {s.startup_failure_logs_min}", len(secrets) >= s.startup_failure_logs_min)
    if failed:
        reason = failed[0]
        return c.yes(0.9, f"{newest.short_name} cannot start: {reason.reason} ({reason.message[:200]})",
                     subject=newest.short_name, suspect_revision=newest.short_name,
                     recommendation=f"fix {_REASON_ADVICE.get(reason.reason, 'the revision configuration')}; "
                                    "traffic stays on the last Ready revision meanwhile")
    if len(secrets) >= s.startup_failure_logs_min:
        changed = _deploy_changed_reader(facts, secrets)
        if changed:
            c.cite("api", "run.revisions.list: service_account", changed,
                   "secret access refused only to a new revision that runs as another service account", False)
            return c.no(changed)
        revision = secrets[0].resource_labels.get("revision_name") or newest.short_name
        return c.yes(0.8, f"{revision} cannot read a secret ({len(secrets)} log entries)", subject=revision,
                     suspect_revision=revision,
                     recommendation=_secret_advice(secrets) + _versions_advice(facts, secrets))
    return c.no("no configuration failure in the revision's conditions or logs")


# What each condition reason names (Cloud Run Admin v2 Condition reasons; the encryption key is the
# revision's customer-managed key, Revision.encryption_key).
_REASON_ADVICE = {
    "SECRETS_ACCESS_CHECK_FAILED": "the revision's access to its secrets (the secret, its version, and "
                                   "roles/secretmanager.secretAccessor for the revision's service account)",
    "CONTAINER_MISSING": "the revision's container image (its name and tag or digest, and that it still exists)",
    "CONTAINER_PERMISSION_DENIED": "the permission to pull the revision's image (the Cloud Run service agent's "
                                   "read access to the repository)",
    "ENCRYPTION_KEY_PERMISSION_DENIED": "the permission on the revision's customer-managed encryption key (the Cloud "
                                        "Run service agent's roles/cloudkms.cryptoKeyEncrypterDecrypter)",
    "ENCRYPTION_KEY_CHECK_FAILED": "the revision's customer-managed encryption key (its state: enabled, not "
                                   "destroyed)",
}


# A Cloud KMS key by its resource name, with its version when one is named ("projects/*/locations/*/keyRings/*/
# cryptoKeys/*" and ".../cryptoKeyVersions/*": CryptoKey.name, CryptoKeyVersion.name, google/cloud/kms/v1/
# resources.proto). A secret with customer-managed encryption is encrypted with such a key (Secret.replication's
# customerManagedEncryption.kmsKeyName; SecretVersion.customerManagedEncryption.kmsKeyVersionName, "The resource
# name of the Cloud KMS CryptoKeyVersion used to encrypt the secret payload", Secret Manager v1 REST reference), and
# cannot be read while that key version is disabled or destroyed. Cloud KMS refuses such a version by its name
# ("rpc error: code = FailedPrecondition desc = projects/.../cryptoKeyVersions/1 is not enabled, current state is:
# DESTROYED.", as sethvargo/vault-on-gke issue #56 quotes a Decrypt); Secret Manager's own words when it passes
# that refusal on are UNCONFIRMED, so the key is read wherever a secret's failure line names one, never guessed.
_KMS_KEY = re.compile(r"projects/[^/\s\"'\]]+/locations/[^/\s\"'\]]+/keyRings/[^/\s\"'\]]+/cryptoKeys/[^/\s\"'\],]+"
                      r"(?:/cryptoKeyVersions/[0-9]+)?")


# What a line naming a key says of it, each with its own step (`_KEY_STEPS`). Cloud KMS names a key version's state
# (CryptoKeyVersion.state: ENABLED, DISABLED, DESTROYED, DESTROY_SCHEDULED; google/cloud/kms/v1/resources.proto) and
# refuses a caller without the permission in IAM's words ("Permission 'cloudkms.cryptoKeyVersions.useToDecrypt'
# denied on resource '<key>' (or it may not exist)."). Secret Manager decrypts with its own service agent, which
# holds the Cloud KMS CryptoKey Encrypter/Decrypter role on the key (Secret Manager, "Enable customer-managed
# encryption keys (CMEK) for Secret Manager"). Whether Secret Manager passes either refusal on in these words, and
# whether Cloud Run quotes it, is UNCONFIRMED: a line that names a key but not its state nor a permission is read as
# a key version not enabled, the advice before this reading (the key is named either way, never guessed).
# The state said in other words ("is in state DESTROYED", "has state DESTROYED"), or DESTROYED, the enum's own
# value, right after a key version's name: which wording reaches a revision's error is UNCONFIRMED, and each names
# the one state no caller can enable. DESTROY_SCHEDULED is asked first (`_key_refusal`) and never matches here.
_KEY_DESTROYED = re.compile(r"current state is:? DESTROYED\b|\bkey version[^\n]*?\bis destroyed|"
                            r"\b(?:is in|has) state:? DESTROYED\b|cryptoKeyVersions/\d+\W{1,3}DESTROYED\b",
                            re.IGNORECASE)
_KEY_SCHEDULED = re.compile(r"\bDESTROY_SCHEDULED\b|\bscheduled for destruction", re.IGNORECASE)
_KEY_DENIED = re.compile(r"Permission '?cloudkms\.cryptoKeyVersions\.useTo(?:De|En)crypt'? denied|"
                         r"cloudkms\.cryptoKeyEncrypterDecrypter", re.IGNORECASE)
# The secret version's own state, said by Secret Manager ("Secret Version [S/versions/V] is in DISABLED state"):
# the key a line also names (the version's kmsKeyVersionName) is not what refused it.
_SECRET_STATE = re.compile(r"Secret Version \[[^\]\n]*\] is in (?:DISABLED|DESTROYED) state", re.IGNORECASE)

# Cloud KMS, "Destroy and restore key versions": data encrypted with a destroyed key version cannot be decrypted,
# save for an imported key version whose same key material is imported again, and only a version scheduled for
# destruction can be restored; restored, it is DISABLED until enabled (`gcloud kms keys versions restore`: "moves the
# version from Scheduled for destruction to Disabled"; REST projects.locations.keyRings.cryptoKeys.cryptoKeyVersions.
# restore: "Upon restoration of the CryptoKeyVersion, state will be set to DISABLED"). A destroyed
# key version makes the secret version it encrypted unreadable for good: a new secret version, under an enabled key
# version, is the way back.
_KEY_STEPS = {
    "destroyed": ("add a new secret version (encrypted under an enabled version of the Cloud KMS key) and point the "
                  "revision at it: the key version that encrypted this one is destroyed ({keys}), and nothing it "
                  "encrypted can be decrypted again unless it was an imported key whose same key material is "
                  "imported again (Cloud KMS, \"Destroy and restore key versions\")"),
    "scheduled": ("restore the Cloud KMS key version the secret is encrypted with while it is still scheduled for "
                  "destruction ({keys}), then enable it: once destroyed, only a new secret version helps"),
    "denied": ("grant the Secret Manager service agent (service-PROJECT_NUMBER@gcp-sa-secretmanager.iam.gserviceaccount"
               ".com) roles/cloudkms.cryptoKeyEncrypterDecrypter on the Cloud KMS key ({keys}): Cloud KMS refuses it "
               "the key, not the secret to the revision"),
    "disabled": ("enable the Cloud KMS key version the secret is encrypted with ({keys}; its state in Cloud KMS: "
                 "disabled, or scheduled for destruction and restorable until then)"),
}


def _key_refusal(text: str) -> str:
    """What the line says refused the key (a `_KEY_STEPS` name), or "" when it names no key or says the secret
    version's own state."""
    if _SECRET_STATE.search(text) or not _KMS_KEY.search(text):
        return ""
    return ("scheduled" if _KEY_SCHEDULED.search(text) else "destroyed" if _KEY_DESTROYED.search(text)
            else "denied" if _KEY_DENIED.search(text) else "disabled")


def _kms_advice(secrets: list[LogRecord]) -> str:
    """The steps for the Cloud KMS keys the secret failures name, by what each says refused it, or "": each step
    names its keys (at most three)."""
    keys: dict[str, set[str]] = {}
    for text, refusal in per_text(_key_refusal, secrets).items():
        if refusal:
            keys.setdefault(refusal, set()).update(_KMS_KEY.findall(text))
    steps = [_KEY_STEPS[name].format(keys=", ".join(sorted(keys[name])[:3])) for name in _KEY_STEPS if name in keys]
    if not steps:
        return ""
    return ("; ".join(steps) + "; and look at who changed the key or its roles (Cloud KMS's Admin Activity audit "
            "log): until then, neither the secret version nor a role on the secret makes the secret readable")


def _secret_advice(secrets: list[LogRecord]) -> str:
    """What a person does about the secret failures, by what they say: the Cloud KMS key a secret is
    encrypted with, when the lines say it refused (`_kms_advice`: enabling the secret version or granting a role
    on the secret changes nothing while Cloud KMS refuses the key); IAM refusing the caller (a role to
    grant); or a version disabled, destroyed or missing (refused to every account alike, so no role
    helps)."""
    kms = _kms_advice(secrets)
    if kms:
        return kms
    denied = per_text(_denied, secrets).values()
    if all(denied):
        return "grant roles/secretmanager.secretAccessor on the secret to the revision's service account"
    if not any(denied):
        return ("enable the secret version the revision reads again (or restore the secret), or pin a version "
                "that is enabled: a version disabled, destroyed or missing is refused to every account alike")
    return "restore the secret or grant roles/secretmanager.secretAccessor to the revision's service account"


# A secret version as the refusals name it: "projects/N/secrets/S/versions/V" (Cloud Run's check, "Could
# not fetch secret \"...\"", the client library's resource) or "S/versions/V" inside Secret Manager's
# "Secret Version [...]", which names no project. Names only: a secret's value is never in a log line
# Runwarden reads.
_VERSION = re.compile(r"(?:(projects/[^/\s\"'\]]+)/secrets/|Secret Version \[)([^/\s\"'\]]+)/versions/([^\s\"'\].,]+)")


def _versions_advice(facts: Facts, secrets: list[LogRecord]) -> str:
    """The secret versions the failures name ("; the lines name DB_PASSWORD version 3"), and whether
    the revision the newest replaced reads one of them pinned (SecretRef.pinned): then sending traffic back
    would meet the same refusal on every new instance. Each secret compared by its full name (secret_refs:
    `secret_name` of the revision's ref, `one_secret`), as secrets_changed compares them: by the id alone, a
    refusal of project A's db-pass was said to await the rollback to a revision that pins project B's, and a
    ref written with its version (".../secrets/S/versions/V") was never matched. A line that names no project
    ("Secret Version [S/versions/V]") or names it by number may be the ref's secret (`one_secret`). "" when no
    line names one."""
    named = sorted(found_in(_named_versions, secrets))
    if not named:
        return ""
    said = ", ".join(sorted({f"{secret.rsplit('/', 1)[-1]} version {version}" for secret, version in named})[:3])
    deploy = facts.recent_deploy()
    before = deploy[1] if deploy is not None else None
    same = [ref for ref in (before.secrets if before is not None else ())
            if ref.pinned and any(v == ref.version and one_secret(secret, secret_name(before, ref))
                                  for secret, v in named)]
    if not same:
        return f"; the lines name {said}"
    pinned = ", ".join(sorted({ref.secret for ref in same}))
    return (f"; the lines name {said}, which {before.short_name} pins too ({pinned}): sending traffic back to it "
            "would meet the same refusal on its new instances")


def _named_versions(text: str) -> set[tuple[str, str]]:
    """The (secret, version) pairs a line names, each secret as named: in full, or by id where the line gives no
    project. Cloud Run's refusal names one version twice ("Could not fetch secret \"projects/N/secrets/S/versions/
    V\" ... Secret Version [S/versions/V] is in DISABLED state"): the bare id there is the full name's, so it is
    left out, else it would match a secret of that id in any project (one_secret)."""
    found = {(f"{m.group(1)}/secrets/{m.group(2)}" if m.group(1) else m.group(2), m.group(3))
             for m in _VERSION.finditer(text)}
    full = {(name.rsplit("/", 1)[-1], version) for name, version in found if "/" in name}
    return {(name, version) for name, version in found if "/" in name or (name, version) not in full}


# IAM refusing the caller's service account a secret: Cloud Run's own startup check, and the
# application's own read with the client library. A version disabled, destroyed or not found is
# refused to every account alike.
_DENIED = re.compile(r"Permission denied on secret|secretmanager\.secretAccessor|"
                     r"Permission 'secretmanager\.versions\.access' denied", re.IGNORECASE)


def _denied(text: str) -> bool:
    return bool(_DENIED.search(text))


def _deploy_changed_reader(facts: Facts, secrets: list[LogRecord]) -> str:
    """Why the secret failures are the new revision's own, or "": every one is IAM refusing the
    caller, from the newest serving revision, deployed within deploy_window_seconds, which runs as
    another service account than the Ready revision before it (Facts.deploy_changed_account). The
    deploy changed who reads the secret: bad_revision judges it, and sending traffic back undoes
    it. The same account on both (a binding removed from a shared account) stays a configuration
    failure, which the older revision would meet too."""
    if not all(per_text(_denied, secrets).values()):
        return ""
    changed = facts.deploy_changed_account(secrets)
    if changed is None:
        return ""
    suspect, previous = changed
    return (f"the secret refusals all come from {suspect.short_name}, deployed as {suspect.service_account}; "
            f"{previous.short_name} ran as {previous.service_account}: the deploy changed who reads the secret, so "
            "they are the new revision's own (bad_revision)")
