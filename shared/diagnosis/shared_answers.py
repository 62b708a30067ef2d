"""A downstream's verdict on something two revisions present alike: pure, no I/O, log words only.

A deploy that lands in the same minutes as a change outside the service (a key revoked at the provider,
a quota used up by another client, a certificate that expired, the downstream itself down) is blamed by
its timing alone. The lines read here are a downstream's answer about what the caller presents, or
about its own state, rather than about the code that calls: the credential it sends, the project its
calls are charged to, the host's certificate it verifies, the downstream's availability and rate limit.
When the revision a rollback would send traffic to presents the same (bad_revision reads that:
rules/answered_alike.py), it meets the same answer, and a rollback cures nothing.
"""
from __future__ import annotations

import re

from shared.diagnosis.log_signals import downstream_answer
from shared.diagnosis.secret_values import CREDENTIAL, value_failure

# What a line says the downstream answered (shared_answer). CREDENTIAL is secret_values' own.
QUOTA = "a Google API refusing the project's calls at its quota"
CERT_EXPIRED = "a downstream whose TLS certificate has expired"
UNAVAILABLE = "a downstream answering that it is unavailable (502, 503, 504)"
RATE_LIMITED = "a downstream limiting the rate of the calls (429)"
STORE_STATE = ("a data store answering about its own state (a Redis replica refusing writes, loading its data, at "
               "its memory or client limit, its primary down)")

# A downstream's own answer that it cannot serve now, as its client quotes it (log_signals.downstream_answer:
# requests', httpx's, aiohttp's, axios', Spring's and .NET's words, and a gRPC peer's UNAVAILABLE with "Error
# received from peer"): a gateway that found no backend (502), a service unavailable (503), a gateway's
# timeout (504) (RFC 9110 sections 15.6.3-15.6.5). A 500 is left out: a request the new code sends may make
# the downstream fail (a payload it cannot handle), so it says nothing of the downstream's state.
_UNAVAILABLE = frozenset({"502", "503", "504", "gRPC UNAVAILABLE"})
# A downstream's rate limit (429 Too Many Requests, RFC 6585 section 4; a gRPC peer's RESOURCE_EXHAUSTED):
# counted for the caller's account or key, which both revisions share; a deploy that calls more often
# draws it down too, so it competes, and a canary beside a revision answered shows which.
_RATE_LIMITED = frozenset({"429", "gRPC RESOURCE_EXHAUSTED"})

# A Google API's refusal at a quota, in the words of its error message: "Quota exceeded for quota metric
# 'Read requests' and limit 'Read requests per minute' of service 'firestore.googleapis.com' for consumer
# 'project_number:418273645012'." (the form Go's googleapi prints for sqladmin.googleapis.com, as
# log_signals' Admin API row cites it: cyrilgdn/terraform-provider-postgresql issue #163; Python's
# google-api-core prints it after "429 ", google/api_core/exceptions.py ResourceExhausted). The consumer is
# a project: every revision of the service, and every other client charged to that project, draws on the
# same quota (Google Cloud, "Quotas overview": quotas are enforced per project, or per project and region).
# Vertex AI's "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute_per_project
# ..." is read the same way (its wording as public threads quote it, UNCONFIRMED in a Google page).
_QUOTA = re.compile(
    r"\bQuota exceeded for quota metric '[^'\n]{1,200}' and limit '[^'\n]{1,200}' of service "
    r"'(?P<service>[a-z0-9.-]+\.googleapis\.com)'"
    r"|\bQuota exceeded for (?P<metric_service>[a-z0-9.-]+\.googleapis\.com)/[a-z0-9_]+",
    re.IGNORECASE)

# A server's certificate past its validity, in each TLS stack's words (as logged, word for word across
# versions UNCONFIRMED unless named):
# - OpenSSL's X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired" (crypto/x509/x509_txt.c), which
#   CPython's ssl prints after "certificate verify failed: " and curl after "SSL certificate problem: ".
# - Go's crypto/x509 CertificateInvalidError{Reason: Expired}: "x509: certificate has expired or is not
#   yet valid: current time ... is after ..." (crypto/x509/verify.go; etcdctl quotes it so).
# - Node's OpenSSL error code on the socket: "CERT_HAS_EXPIRED" (err.code; Node's "certificate has
#   expired" message is OpenSSL's).
# - Java's java.security.cert.CertificateExpiredException ("NotAfter: ..."), and PKIX's "validity check
#   failed" (CertPathValidatorException with BasicReason.EXPIRED).
# "not yet valid" alone is a clock's or a certificate issued ahead, not read.
_CERT_EXPIRED = re.compile(
    r"\bcertificate has expired\b|\bCERT_HAS_EXPIRED\b|\bCertificateExpiredException\b"
    r"|\bCertPathValidatorException: validity check failed\b")

# A Redis server's error replies about its own state rather than the command sent, in its own words (redis/redis
# src/server.c createSharedObjects: shared.roslaveerr "-READONLY You can't write against a read only replica.",
# "slave" before Redis 5; shared.loadingerr "-LOADING Redis is loading the dataset in memory"; shared.masterdownerr
# "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."; shared.oomerr "-OOM command not
# allowed when used memory > 'maxmemory'."; shared.slowevalerr "-BUSY Redis is busy running a script. ..."; and
# src/networking.c acceptCommonHandler's "-ERR max number of clients reached"). Each client quotes them after its
# own name for the reply: redis-py strips the first word ("redis.exceptions.ReadOnlyError: You can't write against a
# read only replica.", redis/_parsers/base.py EXCEPTION_CLASSES), ioredis' ReplyError and go-redis keep it; so only
# the words after it are read. Memorystore for Redis runs Redis (a Standard Tier failover makes its old primary a
# replica: "High availability for Memorystore for Redis"); the words across Redis versions UNCONFIRMED beyond the
# source named. What the instance holds is the same for every revision that names it: a deploy that sends more
# writes or opens more connections can bring the memory or client limits on, so the deploy competes, never ruled out.
_STORE_STATE = re.compile(
    r"\bYou can't write against a read only (?:replica|slave)\b"
    r"|\bRedis is loading the dataset in memory\b"
    r"|\bLink with MASTER is down and (?:replica|slave)-serve-stale-data is set to 'no'"
    r"|\bcommand not allowed when used memory > 'maxmemory'"
    r"|\bRedis is busy running a script\b"
    r"|\bmax number of clients reached\b")


def shared_answer(text: str) -> str:
    """What a downstream answered about what the caller presents or its own state, as one of CREDENTIAL
    (the credential sent refused: secret_values.value_failure), QUOTA (a Google API's quota), CERT_EXPIRED
    (the host's certificate expired), STORE_STATE (a Redis server's reply about its own state), UNAVAILABLE
    (a 502, 503 or 504 it answered), RATE_LIMITED (its 429), or "" for none, in that order: a line holding a
    refusal of the credential is the refusal's, a Google API's 429 the quota's."""
    if value_failure(text) == CREDENTIAL:
        return CREDENTIAL
    if _QUOTA.search(text):
        return QUOTA
    if _CERT_EXPIRED.search(text):
        return CERT_EXPIRED
    if _STORE_STATE.search(text):
        return STORE_STATE
    answer = downstream_answer(text)
    if answer in _UNAVAILABLE:
        return UNAVAILABLE
    return RATE_LIMITED if answer in _RATE_LIMITED else ""


def quota_services(text: str) -> set[str]:
    """The Google APIs (lower case, "firestore.googleapis.com") whose quota `text` says was exceeded."""
    return {(m.group("service") or m.group("metric_service")).lower() for m in _QUOTA.finditer(text)}
