"""A rollback target that pins a secret version disabled or destroyed since it served
(shared/diagnosis/rules/target_secrets.py): its new instances cannot read it as they start, so a rollback
onto it is held and escalated naming the secret, the version and its state. The versions are read apart
(collection.target_secret_reads): only versions pinned by number; "latest" names none.
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
         env: str = "DB_PASSWORD") -> TargetSecretRead:
    return TargetSecretRead(revision=revision, where=f"env {env}", secret="db-password", version=version,
                            name=f"{SECRET}/versions/{version}", state=state, refusal=refusal)


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
    "latest: not read (names no fixed version)": ((pin("latest"),), ()),
    "unset: not read (read as latest)": ((pin(""),), ()),
    "an alias: not read (GetSecretVersion's reading of it UNCONFIRMED)": ((pin("current"),), ()),
    "a secret in another project: read there": (
        (pin("3", secret="projects/shared-sec/secrets/api-key"),),
        (("env DB_PASSWORD", "projects/shared-sec/secrets/api-key/versions/3"),)),
    "a mounted volume's pinned item: read": (
        (SecretRef(volume="config", secret="app-config", version="2"),),
        (("volume config", f"projects/{PROJECT}/secrets/app-config/versions/2"),)),
}


@pytest.mark.parametrize("refs, expected", PLAN_CASES.values(), ids=PLAN_CASES.keys())
def test_only_versions_pinned_by_number_are_read(refs, expected):
    service, revisions = _revisions(refs)
    planned = target_secret_reads(service, revisions, T0, S)
    assert tuple((r.where, r.name) for r in planned) == expected
    assert all(r.revision == OLD for r in planned)


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
