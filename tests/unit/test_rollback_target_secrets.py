"""A rollback target that pins a secret version disabled or destroyed since it served
(shared/diagnosis/rules/target_secrets.py): its new instances cannot read it as they start, so a rollback
onto it is held and escalated naming the secret, the version and its state. The versions are read apart
(collection.target_secret_reads): a pinned number as named; "latest" (or unset) and an alias by that name,
GetSecretVersion answering the version it resolves to, unless the failing revision reads the same secret
alike (the rollback changes nothing through it).
"""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import (TARGET_SECRET_READS, CallBudget, _Reads, _target_secrets,
                                         target_secret_reads)
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import SecretRef, TargetSecretRead
from shared.diagnosis.signatures import Signature
from shared.gcp.secretmanager import version_name
from shared.remediation.planning import plan

from tests.unit.builders import PROJECT, T0, Evidence, deploy_failing

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
OWN = "TypeError: Cannot read properties of undefined (reading 'tiers') at computeQuote (/app/dist/v2.js:88:31)"
SECRET = f"projects/{PROJECT}/secrets/db-password"
ROLLBACK = (OLD, "rollback_traffic")
NO_TARGET = (None, None)


def pin(version: str, env: str = "DB_PASSWORD", secret: str = "db-password") -> SecretRef:
    return SecretRef(env=env, secret=secret, version=version)


def read(state: str = "", refusal: str = "", *, revision: str = OLD, version: str = "4",
         env: str = "DB_PASSWORD", resolved: str = "") -> TargetSecretRead:
    return TargetSecretRead(revision=revision, where=f"env {env}", secret="db-password", version=version,
                            name=f"{SECRET}/versions/{version}", state=state, refusal=refusal, resolved=resolved)


# The target's read pinned versions -> (known-good revision, action). NEW's own code fails (its deploy is the
# cause); OLD pins db-password version 4, NEW version 5 (a rotation the deploy took up).
CASES = {
    "the pinned version is ENABLED: rolled back": ((read("ENABLED"),), ROLLBACK),
    "the pinned version is DISABLED: no target": ((read("DISABLED"),), NO_TARGET),
    "the pinned version is DESTROYED: no target": ((read("DESTROYED"),), NO_TARGET),
    "STATE_UNSPECIFIED (unused and invalid): not shown usable, no target": ((read("STATE_UNSPECIFIED"),), NO_TARGET),
    "the version answers NOT_FOUND (it, or its secret, is gone): no target": ((read(refusal="NOT_FOUND"),), NO_TARGET),
    "the read refused PERMISSION_DENIED: cited, rolled back": ((read(refusal="PERMISSION_DENIED"),), ROLLBACK),
    "the read refused for quota: cited, rolled back": ((read(refusal="RESOURCE_EXHAUSTED"),), ROLLBACK),
    "one of two pinned versions DISABLED: no target": (
        (read("ENABLED"), read("DISABLED", version="7", env="API_KEY")), NO_TARGET),
    "a version of another revision DISABLED says nothing of the target: rolled back": (
        (read("DISABLED", revision="backend-00000-old"),), ROLLBACK),
    "nothing read (no pinned version, or not read): as before, rolled back": ((), ROLLBACK),
    # "latest" is "an alias to the most recently created SecretVersion" (GetSecretVersionRequest.name),
    # whatever its state: a newest version DISABLED is one the target's new instances cannot read.
    "latest resolved to a DISABLED version: no target": ((read("DISABLED", version="latest", resolved="8"),),
                                                         NO_TARGET),
    "latest resolved to an ENABLED version: rolled back": ((read("ENABLED", version="latest", resolved="8"),),
                                                           ROLLBACK),
    "latest answers NOT_FOUND (no versions): no target": ((read(refusal="NOT_FOUND", version="latest"),), NO_TARGET),
    "an alias resolved to a DESTROYED version: no target": ((read("DESTROYED", version="stable", resolved="3"),),
                                                            NO_TARGET),
    "an alias answers NOT_FOUND (no version has it): no target": ((read(refusal="NOT_FOUND", version="stable"),),
                                                                  NO_TARGET),
}


@pytest.mark.parametrize("reads, expected", CASES.values(), ids=CASES.keys())
def test_a_rollback_target_pinning_a_version_it_cannot_read_is_no_target(reads, expected):
    e = deploy_failing(OLD, NEW, ((OWN, 20),), old_settings=dict(secrets=(pin("4"),)),
                       new_settings=dict(secrets=(pin("5"),)))
    bundle = e.bundle().model_copy(update={"target_secrets": reads})

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert (result.known_good_revision, plan(result, bundle, S).action) == expected, result.summary
    if expected == NO_TARGET:
        gone = next(r for r in reads if r.revision == OLD and r.state != "ENABLED")
        # The escalation names the secret, the version and its state.
        assert f"db-password version {gone.version}" in result.summary, result.summary
        assert (gone.state or "not found") in result.summary, result.summary
    refused = [r for r in reads if r.refusal and r.refusal != "NOT_FOUND"]
    for r in refused:   # a refused read is in the evidence, and holds nothing back
        assert any(r.name in item.query and r.refusal in item.observed for item in result.evidence), result.evidence


def _revisions(old: tuple[SecretRef, ...], *, deployed_minutes_ago: float = 6):
    bundle = (Evidence().revision(OLD, -300, secrets=old).revision(NEW, -deployed_minutes_ago, secrets=(pin("5"),))
              .traffic(**{NEW: 100}).bundle())
    return bundle.service, bundle.revisions


# The target's secret refs -> the versions read ((where, version name), ...)
PLAN_CASES = {
    "a pinned env var: read": ((pin("4"),), (("env DB_PASSWORD", f"{SECRET}/versions/4"),)),
    # NEW (the failing revision) reads db-password at version 5: OLD's "latest" or alias is read.
    "latest: read by that name (GetSecretVersion resolves it)": ((pin("latest"),),
                                                                (("env DB_PASSWORD", f"{SECRET}/versions/latest"),)),
    "Latest in another case: read as latest": ((pin("Latest"),), (("env DB_PASSWORD", f"{SECRET}/versions/latest"),)),
    "unset: read as latest": ((pin(""),), (("env DB_PASSWORD", f"{SECRET}/versions/latest"),)),
    "an alias: read by that name (GetSecretVersion takes aliases)": (
        (pin("current"),), (("env DB_PASSWORD", f"{SECRET}/versions/current"),)),
    "a secret in another project: read there": (
        (pin("3", secret="projects/shared-sec/secrets/api-key"),),
        (("env DB_PASSWORD", "projects/shared-sec/secrets/api-key/versions/3"),)),
    "a mounted volume's pinned item: read": (
        (SecretRef(volume="config", secret="app-config", version="2"),),
        (("volume config", f"projects/{PROJECT}/secrets/app-config/versions/2"),)),
}


@pytest.mark.parametrize("refs, expected", PLAN_CASES.values(), ids=PLAN_CASES.keys())
def test_the_versions_read(refs, expected):
    service, revisions = _revisions(refs)
    planned = target_secret_reads(service, revisions, T0, S)
    assert tuple((r.where, r.name) for r in planned) == expected
    assert all(r.revision == OLD for r in planned)


L, A = f"{SECRET}/versions/latest", f"{SECRET}/versions/stable"
KEY = f"projects/{PROJECT}/secrets/api-key/versions/"

# (OLD's refs, NEW's refs) -> the versions of OLD read, in order: a version pinned by number first, then
# "latest" and aliases, then one NEW reads alike (the same secret id at the same "latest" or alias: the
# rollback changes nothing about which version is read, but only OLD's instances are started by it).
ORDER_CASES = {
    "both read latest: read (the target has no running instance)": ((pin("latest"),), (pin("latest"),), (L,)),
    "a number, then latest, then latest read alike": (
        (pin("latest"), pin("latest", env="API_KEY", secret="api-key"), pin("3", env="TOKEN", secret="api-key")),
        (pin("latest"),), (KEY + "3", KEY + "latest", L)),
    "latest and unset (read as latest) are alike: last": (
        (pin(""), pin("latest", env="API_KEY", secret="api-key")), (pin("latest"),), (KEY + "latest", L)),
    "by id and by its full name are alike: last": (
        (pin("latest"), pin("stable", env="API_KEY", secret="api-key")), (pin("latest", secret=SECRET),),
        (KEY + "stable", L)),
    "one alias read by both: last": ((pin("stable"), pin("latest", env="API_KEY", secret="api-key")),
                                     (pin("stable"),), (KEY + "latest", A)),
    "latest and an alias of one secret are not alike": (
        (pin("latest"), pin("stable", env="API_KEY", secret="api-key")), (pin("stable"),), (L, KEY + "stable")),
    "the failing revision pins a number: not alike": (
        (pin("latest"), pin("stable", env="API_KEY", secret="api-key")), (pin("8"),), (L, KEY + "stable")),
    "pinned numbers in the target's order, before the rest": (
        (pin("latest"), pin("4", env="A"), pin("2", env="B", secret="api-key")), (pin("5"),), (f"{SECRET}/versions/4", KEY + "2")),
}


@pytest.mark.parametrize("old, new, expected", ORDER_CASES.values(), ids=ORDER_CASES.keys())
def test_pinned_versions_are_read_first_and_those_read_alike_last(old, new, expected):
    bundle = (Evidence().revision(OLD, -300, secrets=old).revision(NEW, -6, secrets=new)
              .traffic(**{NEW: 100}).bundle())
    planned = target_secret_reads(bundle.service, bundle.revisions, T0, S)
    assert tuple(r.name for r in planned)[:len(expected)] == expected


def test_latest_is_said_with_the_version_it_resolved_to():
    e = deploy_failing(OLD, NEW, ((OWN, 20),), old_settings=dict(secrets=(pin("latest"),)),
                       new_settings=dict(secrets=(pin("5"),)))
    bundle = e.bundle().model_copy(update={"target_secrets": (read("DISABLED", version="latest", resolved="8"),)})
    result = diagnose(bundle, S)
    assert result.known_good_revision is None, result.summary
    assert "db-password version latest (version 8), which is DISABLED" in result.summary, result.summary


def test_no_version_is_read_when_no_rollback_can_follow():
    # NEW deployed long before the incident: not bad_revision's suspect, no rollback candidate.
    service, revisions = _revisions((pin("4"),), deployed_minutes_ago=S.deploy_window_seconds / 60 + 30)
    assert target_secret_reads(service, revisions, T0, S) == []


def test_the_reads_take_their_own_budget_and_stop_at_the_cap():
    service, revisions = _revisions(tuple(pin(str(n), env=f"K{n}", secret=f"s{n}") for n in range(1, 6)))
    planned = target_secret_reads(service, revisions, T0, S)
    budget = CallBudget(limit=4, used=4)   # a full budget: the reads come with their own room
    reads = _Reads(budget)
    _target_secrets(reads, secretmanager=object(), planned=planned)   # planned, never run here
    assert [r.key for r in reads.planned if r.fn] == [f"target_secret:{i}" for i in range(TARGET_SECRET_READS)]
    assert budget.limit == 4 + TARGET_SECRET_READS
    gap = [r.what for r in reads.planned if r.fn is None]
    assert len(gap) == 1 and "s4 version 4" in gap[0] and "s5 version 5" in gap[0]


def test_no_reader_no_read():
    reads = _Reads(CallBudget())
    _target_secrets(reads, secretmanager=None, planned=[read()])
    assert reads.planned == []


@pytest.mark.parametrize("secret, version, expected", [
    ("db-password", "4", "projects/p1/secrets/db-password/versions/4"),
    ("projects/p2/secrets/api-key", "3", "projects/p2/secrets/api-key/versions/3"),
    ("projects/p2/secrets/api-key/versions/9", "3", "projects/p2/secrets/api-key/versions/3"),
])
def test_the_version_name_read(secret, version, expected):
    assert version_name("p1", secret, version) == expected
