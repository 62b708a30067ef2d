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
by delegating on a service account" (AuthenticationInfo.service_account_delegation_info, audit_log.proto). Such
an entry, one with no email (a third party identity, a workload or workforce pool's principal: `principal_subject`
only), or an email of no known form is UNKNOWN: precision treats it as a person's.

A CI/CD pipeline may not run as a service account acting as itself:
- through workload identity federation, impersonating a service account (GitHub Actions' `google-github-actions/
  auth` with a service account, for one): the entry names the service account in principalEmail and the pool's
  principal in serviceAccountDelegationInfo (a ThirdPartyPrincipal, or the delegation's `principal_subject`, "For
  most identities, the format will be principal://iam.googleapis.com/{identity pool name}/subjects/{subject}":
  ServiceAccountDelegationInfo.principal_subject, audit_log.proto). UNKNOWN: a workforce pool's person reaches
  a service account the same way, and the entry does not tell a workload pool's pipeline from a workforce pool's
  person by any field documented to say so (UNCONFIRMED that the subject's `workloadIdentityPools` segment is
  always present for a workload and never for a person). It stands automation down, as a person's change does;
  a pipeline that wants its promotions read as its release runs as its service account itself (a key, or the
  account attached to its runner).
- through workload identity federation with direct resource access (no service account): principalEmail empty,
  principalSubject the pool's principal ("principal://iam.googleapis.com/projects/.../workloadIdentityPools/...";
  which of the two fields the audit entry fills for it is UNCONFIRMED: either way no `.gserviceaccount.com` email
  names it). UNKNOWN.
- as a user account (a `ci-bot@company.com` Google account): no field tells it from a person's. PERSON.
Each stands automation down: escalating is the safe reading, and a person's change is never taken for a pipeline's.
"""
from __future__ import annotations

from enum import Enum

from shared.diagnosis.evidence import LogRecord

SERVICE_ACCOUNT_DOMAIN = ".gserviceaccount.com"


def is_service_account(email: str) -> bool:
    """`email` is a service account's, by its domain alone (in any case: Google's emails are not case-sensitive,
    UNCONFIRMED in Google's words). Whether a person acted through it (delegation) is `principal_kind`'s."""
    return email.lower().endswith(SERVICE_ACCOUNT_DOMAIN)


class PrincipalKind(str, Enum):
    SERVICE_ACCOUNT = "a service account"
    PERSON = "a person"
    UNKNOWN = "not known to be a service account or a person"


def principal_kind(entry: LogRecord) -> PrincipalKind:
    """Who made `entry`'s change: a service account acting as itself, a person, or UNKNOWN (no email, one
    of no known form, or a service account someone delegated on)."""
    email = (entry.principal or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in email):
        return PrincipalKind.UNKNOWN
    if is_service_account(email):
        return PrincipalKind.UNKNOWN if entry.delegates else PrincipalKind.SERVICE_ACCOUNT
    return PrincipalKind.PERSON


def named(entry: LogRecord) -> str:
    """Who made `entry`'s change, in words: its principalEmail, else its principalSubject (a federated identity's,
    which has no email), else "unknown"."""
    return entry.principal or entry.principal_subject or "unknown"
