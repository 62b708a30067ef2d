"""A pipeline's own promotion is its release, not a person at work (diagnose._pipeline_promotions,
diagnosis/principals.py). A blue/green release promotes a revision deployed hours before with `--no-traffic`
(`update-traffic`): the audit log holds that traffic change, within manual_change_window_seconds of the
incident. Made by a pipeline (a service account acting as itself: its principalEmail ends in .gserviceaccount.com
and no one delegated on it; or a pipeline acting through it, another service account or a workload identity pool:
AuthenticationInfo, google/cloud/audit/audit_log.proto), at the minute the revision's traffic began
(Facts.promotion), sending it everything, it is the deploy, context as a deploy's own entry is. A person's change
(as themselves or through the account), a principal not known to be a pipeline's, a share, another time, or a
change after the incident began stands automation down."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.principals import PrincipalKind, principal_kind
from shared.remediation.planning import plan

from tests.unit.test_bad_revision_promotion import BLUE, GREEN, _promoted

S = DiagnosisSettings()
CI = "deployer@demo-project.iam.gserviceaccount.com"
TRAFFIC = "google.cloud.run.v2.Services.UpdateService"


def _bundle(principal: str | None, minute: float, *, delegates: tuple[str, ...] = (), split: int = 100,
            promoted_at: float = -9):
    e = _promoted(GREEN, -300, BLUE, -2880, promoted_at)
    if split < 100:
        e = e.traffic(**{GREEN: split, BLUE: 100 - split})
    e = e.audit(minute, principal or "")
    e.audits[-1] = e.audits[-1].model_copy(update={"principal": principal, "delegates": delegates})
    return e.bundle()


# (case, principal, audit minute, delegates, GREEN's share, stands down)
CASES = [
    ("the pipeline's service account promotes at the first requests' minute", CI, -9, (), 100, False),
    ("... a minute before its first requests (the update's operation took a while)", CI, -10, (), 100, False),
    ("a Compute Engine default service account (developer.gserviceaccount.com)",
     "123456789-compute@developer.gserviceaccount.com", -9, (), 100, False),
    ("the pipeline account written in capitals", CI.upper(), -9, (), 100, False),
    ("a person promotes", "alice@example.com", -9, (), 100, True),
    ("a person through the pipeline's account (serviceAccountDelegationInfo)", CI, -9, ("alice@example.com",),
     100, True),
    ("no principalEmail (a third party identity: principal_subject only)", None, -9, (), 100, True),
    ("a principal that is no email", "principal://iam.googleapis.com/locations/global/workforcePools/p/subject/a",
     -9, (), 100, True),
    ("a domain that only resembles a service account's", "deployer@gserviceaccount.com.evil.example", -9, (), 100,
     True),
    ("the pipeline's account changes traffic 5 minutes after the promotion", CI, -4, (), 100, True),
    ("the pipeline's account changes traffic after the incident began", CI, 1, (), 100, True),
]


@pytest.mark.parametrize("case,principal,minute,delegates,split,stands_down", CASES, ids=[c[0] for c in CASES])
def test_a_pipelines_own_promotion_does_not_stand_automation_down(case, principal, minute, delegates, split,
                                                                   stands_down):
    bundle = _bundle(principal, minute, delegates=delegates, split=split)

    result = diagnose(bundle, S)

    assert bool(result.stand_down) is stands_down, (result.stand_down, result.summary)
    assert result.known_good_revision == BLUE, result.summary
    assert plan(result, bundle, S).action == (None if stands_down else "rollback_traffic")
    said = [i.observed for i in result.evidence if i.about == "stand_down"]
    assert said and (("promoting " + GREEN in said[0]) is not stands_down), said


def test_a_pipelines_share_of_the_traffic_is_not_its_promotion():
    """A canary's share by the pipeline's account is a rollout under way, not the release: it stands down
    (and bad_revision does not read a share as the promotion either)."""
    result = diagnose(_bundle(CI, -9, split=50), S)

    assert result.stand_down


def test_a_person_acting_through_the_account_is_named():
    result = diagnose(_bundle(CI, -9, delegates=("alice@example.com",)), S)

    assert "acting through it: alice@example.com" in result.stand_down


# (case, the second entry's principal, its minute, its method): beside the pipeline's promotion at -9, another
# change in the same two minutes is a change of its own, not the release (one entry is the promotion, as one entry
# is a deploy).
BESIDE = [
    ("another service account's IAM change a minute later", "terraform@infra-project.iam.gserviceaccount.com", -8,
     "SetIamPolicy"),
    ("a second pipeline's traffic write a minute later", "other-ci@demo-project.iam.gserviceaccount.com", -8, TRAFFIC),
    ("the same account's second traffic write a minute later", CI, -8, TRAFFIC),
    ("a person's change a minute later", "alice@example.com", -8, TRAFFIC),
]


@pytest.mark.parametrize("case,principal,minute,method", BESIDE, ids=[c[0] for c in BESIDE])
def test_a_second_change_beside_the_pipelines_promotion_stands_automation_down(case, principal, minute, method):
    e = _promoted(GREEN, -300, BLUE, -2880, -9).audit(-9, CI).audit(minute, principal, method)
    bundle = e.bundle()

    result = diagnose(bundle, S)

    assert result.stand_down, result.summary
    assert plan(result, bundle, S).action is None
    promoting = [i.observed for i in result.evidence if i.about == "stand_down" and "promoting " + GREEN in i.observed]
    assert len(promoting) == 1 and CI in promoting[0], promoting


def test_a_pipelines_change_that_writes_no_traffic_is_not_its_promotion():
    """An IAM policy's change by the pipeline's account at the promotion's minute sets no traffic: not a release."""
    result = diagnose(_promoted(GREEN, -300, BLUE, -2880, -9).audit(-9, CI, "SetIamPolicy").bundle(), S)

    assert result.stand_down, result.summary


@pytest.mark.parametrize("principal,delegates,kind", [
    (CI, (), PrincipalKind.SERVICE_ACCOUNT),
    ("my-app@appspot.gserviceaccount.com", (), PrincipalKind.SERVICE_ACCOUNT),
    ("service-123@gcp-sa-cloudbuild.iam.gserviceaccount.com", (), PrincipalKind.SERVICE_ACCOUNT),
    (CI, ("alice@example.com",), PrincipalKind.PERSON),
    (CI, ("a third party principal",), PrincipalKind.UNKNOWN),
    (CI, ("builder@demo.iam.gserviceaccount.com",), PrincipalKind.WORKLOAD),
    (CI, ("builder@demo.iam.gserviceaccount.com", "alice@example.com"), PrincipalKind.PERSON),
    (CI, ("builder@demo.iam.gserviceaccount.com", "a third party principal"), PrincipalKind.UNKNOWN),
    ("alice@example.com", (), PrincipalKind.PERSON),
    ("ci-robot@example.com", (), PrincipalKind.PERSON),
    (None, (), PrincipalKind.UNKNOWN),
    ("", (), PrincipalKind.UNKNOWN),
    ("@gserviceaccount.com", (), PrincipalKind.UNKNOWN),
    ("not an email", (), PrincipalKind.UNKNOWN),
])
def test_who_made_a_change(principal, delegates, kind):
    entry = LogRecord(timestamp="2026-01-01T00:00:00Z", log_id="cloudaudit.googleapis.com/activity",
                      principal=principal, delegates=delegates)

    assert principal_kind(entry) is kind


POOL = "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/github/subject/repo:acme/app"


def _by(principal: str | None, subject: str | None, delegates: tuple[str, ...]):
    e = _promoted(GREEN, -300, BLUE, -2880, -9).audit(-9, principal or "")
    e.audits[-1] = e.audits[-1].model_copy(update={"principal": principal, "principal_subject": subject,
                                                   "delegates": delegates})
    return e.bundle()


WORKFORCE = "principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/alice@acme.example"
# An identity whose entry does not say it is a pipeline's (principals.py): (case, principalEmail, principalSubject,
# serviceAccountDelegationInfo, who the evidence names). Each stands automation down.
CI_IDENTITIES = [
    ("... the pool's principal kept only as a third party principal", CI, None, ("a third party principal",),
     "a third party principal"),
    ("a user account the pipeline runs as: no field tells it from a person", "ci-bot@acme.example", None, (),
     "by ci-bot@acme.example at"),
    ("a workforce pool's person impersonating the pipeline's account", CI, None, (WORKFORCE,), f"{CI} at"),
    ("a workforce pool's person with direct access", None, WORKFORCE, (), f"by {WORKFORCE} at"),
    ("a workload pool's caller with a person delegating on it (no email)", None, POOL, ("alice@example.com",),
     f"by {POOL} at"),
]


# A federated caller with no email (principalSubject) and whoever delegated: one chain, as through an account.
@pytest.mark.parametrize("subject,delegates,kind", [
    (POOL, (), PrincipalKind.WORKLOAD),
    (POOL, ("builder@demo.iam.gserviceaccount.com",), PrincipalKind.WORKLOAD),
    (POOL, ("alice@example.com",), PrincipalKind.PERSON),
    (POOL, (WORKFORCE,), PrincipalKind.PERSON),
    (POOL, ("a third party principal",), PrincipalKind.UNKNOWN),
    (None, ("builder@demo.iam.gserviceaccount.com",), PrincipalKind.UNKNOWN),
    (None, ("alice@example.com",), PrincipalKind.PERSON),
])
def test_a_federated_callers_chain_is_read_whole(subject, delegates, kind):
    entry = LogRecord(timestamp="2026-01-01T00:00:00Z", log_id="cloudaudit.googleapis.com/activity",
                      principal_subject=subject, delegates=delegates)

    assert principal_kind(entry) is kind


# A pipeline acting through its deployer account or a workload identity pool (principals.py): its promotion is its
# release, as the account's own is. (case, principalEmail, principalSubject, serviceAccountDelegationInfo)
PIPELINES_THROUGH = [
    ("workload identity federation impersonating the pipeline's account", CI, None, (POOL,)),
    ("workload identity federation with direct access: no email, the pool's principalSubject", None, POOL, ()),
    ("Cloud Build's account impersonating the deployer account", CI, None,
     ("123@cloudbuild.gserviceaccount.com",)),
]


@pytest.mark.parametrize("case,principal,subject,delegates", PIPELINES_THROUGH, ids=[c[0] for c in PIPELINES_THROUGH])
def test_a_pipeline_acting_through_an_account_or_a_pool_promotes_as_its_release(case, principal, subject, delegates):
    bundle = _by(principal, subject, delegates)

    result = diagnose(bundle, S)

    assert not result.stand_down, result.stand_down
    said = [i.observed for i in result.evidence if i.about == "stand_down"]
    assert len(said) == 1 and "its pipeline's release" in said[0], said
    assert all(d in said[0] for d in delegates), said


@pytest.mark.parametrize("case,principal,subject,delegates,named", CI_IDENTITIES, ids=[c[0] for c in CI_IDENTITIES])
def test_a_pipeline_not_acting_as_its_own_service_account_stands_automation_down(case, principal, subject,
                                                                                 delegates, named):
    bundle = _by(principal, subject, delegates)

    result = diagnose(bundle, S)

    assert result.stand_down and plan(result, bundle, S).action is None, result.summary
    said = [i.observed for i in result.evidence if i.about == "stand_down"]
    assert len(said) == 1 and named in said[0] and "its pipeline's release" not in said[0], said
    assert all(d in said[0] for d in delegates), said


def test_an_audit_entrys_federated_principals_are_decoded():
    """authenticationInfo.principalSubject and a delegation's principal_subject (google/cloud/audit/audit_log.proto),
    decoded from a raw LogEntry as Logging returns it."""
    from google.cloud.audit import audit_log_pb2
    from google.cloud.logging_v2.types import LogEntry

    from shared.gcp.logging import record_from_entry

    direct, impersonating = audit_log_pb2.AuditLog(method_name=TRAFFIC), audit_log_pb2.AuditLog(method_name=TRAFFIC)
    direct.authentication_info.principal_subject = POOL
    impersonating.authentication_info.principal_email = CI
    delegation = impersonating.authentication_info.service_account_delegation_info.add()
    delegation.principal_subject = POOL
    delegation.third_party_principal.third_party_claims.update({"sub": "repo:acme/app"})
    records = []
    for audit in (direct, impersonating):
        entry = LogEntry.pb()(log_name="projects/p/logs/cloudaudit.googleapis.com%2Factivity")
        entry.proto_payload.Pack(audit)
        records.append(record_from_entry(entry))

    assert [(r.principal, r.principal_subject, r.delegates) for r in records] == [
        (None, POOL, ()), (CI, None, (POOL,))]
    assert [principal_kind(r) for r in records] == [PrincipalKind.WORKLOAD, PrincipalKind.WORKLOAD]
