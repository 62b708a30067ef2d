"""Who made a change in the audit log: a service account, a person, or not known.

An audit entry names who made the call in `authenticationInfo.principalEmail` ("The email address of the
authenticated user (or service account on behalf of third party principal) making the request. For third party
identity callers, the `principal_subject` field is populated instead of this field", AuthenticationInfo.
principal_email, google/cloud/audit/audit_log.proto). A service account's email ends in `.gserviceaccount.com`:
`SA_NAME@PROJECT_ID.iam.gserviceaccount.com` for one a project creates, and Google's own in the same domain
(`PROJECT_NUMBER-compute@developer.gserviceaccount.com`, `PROJECT_ID@appspot.gserviceaccount.com`,
`service-PROJECT_NUMBER@gcp-sa-*.iam.gserviceaccount.com`: IAM docs, "Service accounts overview" and "Service
agents"). That no other suffix exists is UNCONFIRMED: one that did would read as a person's, which stands
automation down. A person's Google account or Workspace user has any other email.

A service account is not always a pipeline: a person may act as one (`gcloud --impersonate-service-account`),
and then the entry's `serviceAccountDelegationInfo` holds "the real authorities that try to access GCP resources
by delegating on a service account" (AuthenticationInfo.service_account_delegation_info, audit_log.proto). Who
acted through the account is who made the change, as an SRE reads it:
- a person (a delegate's email of a person, or a workforce pool's principal): PERSON. Workforce identity
  federation is IAM's "identities for users" and its single identity is `principal://iam.googleapis.com/locations/
  global/workforcePools/POOL_ID/subject/SUBJECT_ATTRIBUTE_VALUE` (IAM docs, "Principals overview" and "Principal
  identifiers").
- a pipeline: a service account impersonating the deployer account (Cloud Build's account, a runner's, through
  `--impersonate-service-account`), or a workload identity pool's principal (GitHub Actions' `google-github-actions/
  auth` with a service account): WORKLOAD, a tool as the account acting as itself is. Workload identity federation
  is IAM's "identities for workloads", its single identity `principal://iam.googleapis.com/projects/PROJECT_NUMBER/
  locations/global/workloadIdentityPools/POOL_ID/subject/SUBJECT_ATTRIBUTE_VALUE` (same pages); the delegation's
  `principal_subject` is "For most identities, the format will be principal://iam.googleapis.com/{identity pool
  name}/subjects/{subject}" (ServiceAccountDelegationInfo.principal_subject, audit_log.proto: "subjects" there,
  "subject" in IAM's pages, so the pool's kind is read off its `workloadIdentityPools/` or `workforcePools/` segment
  alone). UNCONFIRMED that an audit entry always names the pool's principal so: a delegate kept only as "a third
  party principal" (a ThirdPartyPrincipal's claims, not kept) or in another form says nothing, and is UNKNOWN. A
  person let into a workload pool (its provider trusting a person's token) reads as a pipeline: the pool's own
  configuration decides that, as it decides the account's roles.
- a chain of several: PERSON if anyone in it is a person, WORKLOAD if every one is a pipeline, else UNKNOWN.
The same federation with direct resource access (no service account): principalEmail empty, principalSubject the
pool's principal ("For third party identity callers, the `principal_subject` field is populated instead",
AuthenticationInfo.principal_email); read as a delegate is, and with its delegates, if any, as one chain. One with no email and no subject of a known pool, or an
email of no known form, is UNKNOWN: precision treats it as a person's.

A CI/CD pipeline as a user account (a `ci-bot@company.com` Google account): no field tells it from a person's.
PERSON. Each of PERSON and UNKNOWN stands automation down: escalating is the safe reading, and a person's change is
never taken for a pipeline's.
"""
from __future__ import annotations

import re
from enum import Enum
from typing import Iterable

from shared.diagnosis.evidence import LogRecord

SERVICE_ACCOUNT_DOMAIN = ".gserviceaccount.com"


def is_service_account(email: str) -> bool:
    """`email` is a service account's, by its domain alone (in any case: Google's emails are not case-sensitive,
    UNCONFIRMED in Google's words). Whether a person acted through it (delegation) is `principal_kind`'s."""
    return email.lower().endswith(SERVICE_ACCOUNT_DOMAIN)


def among(email: str, emails: Iterable[str]) -> bool:
    """`email` is one of `emails`, in any case (as `is_service_account` folds it)."""
    email = email.strip().lower()
    return any(email == e.strip().lower() for e in emails)


class PrincipalKind(str, Enum):
    SERVICE_ACCOUNT = "a service account"
    WORKLOAD = "a pipeline acting through a service account or a workload identity pool"
    PERSON = "a person"
    UNKNOWN = "not known to be a service account or a person"


# A workload identity pool's and a workforce pool's principal (IAM docs, "Principal identifiers"; the proto's
# "subjects" read too): the pool's kind is its path's segment.
_WORKLOAD_POOL = re.compile(r"^principal://iam\.googleapis\.com/projects/[^/]+/locations/[^/]+/workloadIdentityPools/"
                            r"[^/]+/subjects?/.+")
_WORKFORCE_POOL = re.compile(r"^principal://iam\.googleapis\.com/locations/[^/]+/workforcePools/[^/]+/subjects?/.+")


def principal_kind(entry: LogRecord) -> PrincipalKind:
    """Who made `entry`'s change: a service account acting as itself, a pipeline acting through one (WORKLOAD), a
    person (acting as themselves or through an account), or UNKNOWN (no email nor known subject, one of no known
    form, a delegate that says nothing)."""
    email = (entry.principal or "").strip().lower()
    if not email:
        # A federated caller with no email: its subject and whoever delegated, one chain (a person anywhere in
        # it is a person, as through an account).
        return _chain([entry.principal_subject or "", *entry.delegates])
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in email):
        return PrincipalKind.UNKNOWN
    if not is_service_account(email):
        return PrincipalKind.PERSON
    if not entry.delegates:
        return PrincipalKind.SERVICE_ACCOUNT
    return _chain(entry.delegates)


def _chain(identities: Iterable[str]) -> PrincipalKind:
    """A chain's kind: PERSON if anyone in it is a person, WORKLOAD if every one is a pipeline, else UNKNOWN."""
    kinds = {_identity(who) for who in identities}
    return (PrincipalKind.PERSON if PrincipalKind.PERSON in kinds else
            PrincipalKind.WORKLOAD if kinds == {PrincipalKind.WORKLOAD} else PrincipalKind.UNKNOWN)


def _identity(who: str) -> PrincipalKind:
    """A delegate's or a federated caller's kind: a person's email or a workforce pool's principal is a person's, a
    service account's email or a workload pool's principal a pipeline's; anything else (a delegate kept only as "a
    third party principal") UNKNOWN."""
    who = who.strip()
    if _WORKLOAD_POOL.match(who):
        return PrincipalKind.WORKLOAD
    if _WORKFORCE_POOL.match(who):
        return PrincipalKind.PERSON
    local, at, domain = who.lower().rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in who) or "/" in who:
        return PrincipalKind.UNKNOWN
    return PrincipalKind.WORKLOAD if is_service_account(who) else PrincipalKind.PERSON


def is_workload_pool(who: str) -> bool:
    """`who` is a workload identity pool's principal (a pipeline's identity of its own, no service account):
    `principal://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/...` (IAM docs,
    "Principal identifiers")."""
    return _WORKLOAD_POOL.match(who.strip()) is not None


def acts_as_tool(entry: LogRecord) -> bool:
    """Whether `entry`'s change is a pipeline's: a service account acting as itself, or a pipeline acting through
    one or through a workload identity pool (principal_kind)."""
    return principal_kind(entry) in (PrincipalKind.SERVICE_ACCOUNT, PrincipalKind.WORKLOAD)


def named(entry: LogRecord) -> str:
    """Who made `entry`'s change, in words: its principalEmail, else its principalSubject (a federated identity's,
    which has no email), else "unknown"."""
    return entry.principal or entry.principal_subject or "unknown"
