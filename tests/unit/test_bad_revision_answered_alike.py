"""bad_revision when the new revision's failures are a downstream's verdict on something the rollback target
presents alike (rules/answered_alike.py): a key the provider refuses that both send (the same pinned secret
version, the same plain env), a Google API's quota of the project both are charged to, a host's certificate that
expired. A deploy in the same minutes is blamed by its timing alone: the rollback is held and a person looks.
The rollback stands when the deploy changed what is presented (another secret version, another plain key, another
service account, another host), when another revision is answered in the same minutes (a canary's split), and
when the failures are the new code's own."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import SecretRef
from shared.diagnosis.secret_values import CREDENTIAL
from shared.diagnosis.shared_answers import (CERT_EXPIRED, QUOTA, RATE_LIMITED, STORE_STATE, UNAVAILABLE,
                                            quota_services, shared_answer)
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, deploy_failing

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)
SA = "backend@shop-prod.iam.gserviceaccount.com"

STRIPE_EXPIRED = ("Traceback (most recent call last):\n  File \"/app/payments.py\", line 58, in charge\n"
                  "stripe.error.AuthenticationError: Expired API Key provided: rk_live_*********************7QpZ")
AXIOS_401 = "quote failed for https://api.partner.example/v2/quotes: AxiosError: Request failed with status code 401"
VERTEX = ("google.api_core.exceptions.ResourceExhausted: 429 Quota exceeded for aiplatform.googleapis.com/"
          "generate_content_requests_per_minute_per_project_per_base_model with base model: gemini-1.5-flash.")
SHEETS = ("googleapi: Error 429: Quota exceeded for quota metric 'Write requests' and limit 'Write requests per "
          "minute' of service 'sheets.googleapis.com' for consumer 'project_number:771023498812'., rateLimitExceeded")
GO_EXPIRED = ('quote: Post "https://api.partner.example/v2/quote": tls: failed to verify certificate: x509: '
              "certificate has expired or is not yet valid: current time 2026-03-02T11:56:04Z is after "
              "2026-03-02T11:55:00Z")
PY_EXPIRED = ("httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired "
              "(_ssl.c:1006)")
OWN = "AttributeError: 'NoneType' object has no attribute 'currency'"
PARTNER_503 = ("requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
               "https://api.partner.example/v2/charges")
PARTNER_429 = "quote failed: AxiosError: Request failed with status code 429 (https://api.partner.example/v2/quotes)"
# httpx's words for the same answer (Response.raise_for_status, log_signals cites it), a line of its own after.
PARTNER_503_HTTPX = ("httpx.HTTPStatusError: Server error '503 Service Unavailable' for url "
                     "'https://api.partner.example/v2/charges'\n"
                     "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/503")
PARTNER_500 = ("requests.exceptions.HTTPError: 500 Server Error: Internal Server Error for url: "
               "https://api.partner.example/v2/charges")

# grpcio's repr of a call its peer answered UNAVAILABLE, naming the peer by address only (log_signals' downstream
# answers cite the format).
GRPC_UNAVAILABLE = ('reserve stock failed: <_InactiveRpcError of RPC that terminated with:\n\tstatus = '
                    'StatusCode.UNAVAILABLE\n\tdetails = "inventory backend unavailable"\n\tdebug_error_string = '
                    '"UNKNOWN:Error received from peer ipv4:10.9.0.8:443 {grpc_message:\\"inventory backend '
                    'unavailable\\", grpc_status:14}"\n>')
# A Redis server's replies about its own state, as redis-py (the first word stripped), ioredis and go-redis quote them.
REDIS_READONLY = "redis.exceptions.ReadOnlyError: You can't write against a read only replica."
REDIS_OOM = "ReplyError: OOM command not allowed when used memory > 'maxmemory'."
REDIS_LOADING = 'session get failed: err="LOADING Redis is loading the dataset in memory"'
REDIS = (("REDIS_HOST", "10.60.0.4"), ("REDIS_PORT", "6379"))
# By a private DNS name (env_hosts.looked_up_names), or by address under a store's setting
# (env_hosts.store_address_moved: Memorystore's endpoints are addresses).
REDIS_READ_ENDPOINT = (("REDIS_HOST", "10.60.0.5"), ("REDIS_PORT", "6379"))
REDIS_URL_BY_ADDRESS = (("REDIS_URL", "redis://10.60.0.4:6379/0"),)
REDIS_URL_BY_ADDRESS_MOVED = (("REDIS_URL", "redis://10.60.0.5:6379/0"),)
REDIS_NAMED = (("REDIS_URL", "redis://sessions.redis.internal.example:6379/0"),)
REDIS_NAMED_MOVED = (("REDIS_URL", "redis://sessions-replica.redis.internal.example:6379/0"),)
INVENTORY = (("INVENTORY_GRPC_TARGET", "inventory.internal.example:443"),)
INVENTORY_V2 = (("INVENTORY_GRPC_TARGET", "inventory-v2.internal.example:443"),)

ANSWERS = {
    "Stripe's expired key": (STRIPE_EXPIRED, CREDENTIAL),
    "Stripe's expired key by its code": ('{"error": {"code": "api_key_expired", "type": "invalid_request_error"}}',
                                         CREDENTIAL),
    "axios' 401": (AXIOS_401, CREDENTIAL),
    "Vertex AI's quota": (VERTEX, QUOTA),
    "a quota metric's words (Go's googleapi)": (SHEETS, QUOTA),
    "google-api-core's quota": ("google.api_core.exceptions.ResourceExhausted: 429 Quota exceeded for quota metric "
                                "'Read requests' and limit 'Read requests per minute' of service "
                                "'firestore.googleapis.com' for consumer 'project_number:1'.", QUOTA),
    "Go's expired certificate": (GO_EXPIRED, CERT_EXPIRED),
    "CPython's expired certificate": (PY_EXPIRED, CERT_EXPIRED),
    "Node's code": ("FetchError: request to https://a.example/ failed, reason: certificate has expired "
                    "(code CERT_HAS_EXPIRED)", CERT_EXPIRED),
    "Java's": ("javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert."
               "CertPathValidatorException: validity check failed", CERT_EXPIRED),
    "a partner's 503": (PARTNER_503, UNAVAILABLE),
    "a gRPC peer's UNAVAILABLE": ('debug_error_string = "UNKNOWN:Error received from peer ipv4:10.9.0.7:443 '
                                  '{grpc_message:\\"unavailable\\", grpc_status:14}"', UNAVAILABLE),
    "a partner's 429": ("requests.exceptions.HTTPError: 429 Client Error: Too Many Requests for url: https://a/",
                        RATE_LIMITED),
    "a partner's 503 (httpx)": (PARTNER_503_HTTPX, UNAVAILABLE),
    "a partner's 429 (httpx)": ("httpx.HTTPStatusError: Client error '429 Too Many Requests' for url "
                                "'https://api.partner.example/v2/quotes'", RATE_LIMITED),
    "a partner's 500 (httpx)": (PARTNER_503_HTTPX.replace("503 Service Unavailable", "500 Internal Server Error"), ""),
    "a Redis replica refusing writes (redis-py)": (REDIS_READONLY, STORE_STATE),
    "Redis at its maxmemory (ioredis)": (REDIS_OOM, STORE_STATE),
    "Redis loading its data (go-redis)": (REDIS_LOADING, STORE_STATE),
    "Redis at its client limit (redis-py)": ("redis.exceptions.ConnectionError: max number of clients reached",
                                             STORE_STATE),
    "Redis' primary down (MASTERDOWN)": ("ReplyError: MASTERDOWN Link with MASTER is down and "
                                         "replica-serve-stale-data is set to 'no'.", STORE_STATE),
    # Neither: the code's own, a downstream's 500 (the request the new code sent may cause it).
    "the code's own": (OWN, ""),
    "a partner's 500": (PARTNER_500, ""),
    "an unknown authority": ("x509: certificate signed by unknown authority", ""),
    "a quota word in passing": ("quota exceeded for tenant acme", ""),
}


@pytest.mark.parametrize("text, kind", ANSWERS.values(), ids=ANSWERS.keys())
def test_what_a_downstream_answered_about_what_the_caller_presents(text, kind):
    assert shared_answer(text) == kind


def test_the_apis_whose_quota_was_exceeded():
    assert quota_services(VERTEX) == {"aiplatform.googleapis.com"}
    assert quota_services(SHEETS) == {"sheets.googleapis.com"}


KEY_7 = SecretRef(env="API_KEY", secret="api-key", version="7")
KEY_8 = SecretRef(env="API_KEY", secret="api-key", version="8")
PLAIN_KEY = (("PARTNER_API_URL", "https://api.partner.example/v2"), ("PARTNER_API_TOKEN", "fp_live_3Jd81kQ"))
PARTNER = (("PARTNER_API_URL", "https://api.partner.example/v2"),)


def deployed(lines: tuple[tuple[str, int], ...], *, old_secrets=(KEY_7,), new_secrets=(KEY_7,), old_plain=PARTNER,
             new_plain=PARTNER, old_sa=SA, new_sa=SA, canary=False, old_lines=()) -> Evidence:
    """NEW replaced OLD 6 minutes ago on the same connector, and 59% of its requests fail with `lines` (text,
    count) at ERROR; with `canary`, OLD keeps serving 90% of the traffic cleanly beside it, logging `old_lines`."""
    e = deploy_failing(OLD, NEW, lines, canary=canary,
                       old_settings={"plain_env": old_plain, "secrets": old_secrets, "service_account": old_sa},
                       new_settings={"plain_env": new_plain, "secrets": new_secrets, "service_account": new_sa})
    for text, count in old_lines:
        e.log(-5, text, OLD, count=count)
    return e


OTHER_SA = "backend-v2@shop-prod.iam.gserviceaccount.com"
CASES = {
    # Presented alike: held.
    "a key both pin at the same version, expired": (((STRIPE_EXPIRED, 20),), {}, ESCALATE),
    "a plain-env token both send, refused": (((AXIOS_401, 20),), {"old_secrets": (), "new_secrets": (),
                                                                 "old_plain": PLAIN_KEY, "new_plain": PLAIN_KEY},
                                             ESCALATE),
    "the project's Vertex AI quota": (((VERTEX, 20),), {}, ESCALATE),
    "the project's Sheets quota": (((SHEETS, 20),), {}, ESCALATE),
    "a partner's certificate expired": (((GO_EXPIRED, 20),), {}, ESCALATE),
    "an expired certificate, no host named": (((PY_EXPIRED, 20),), {}, ESCALATE),
    "answers with a few of its own beside": (((VERTEX, 12), (OWN, 6)), {}, ESCALATE),
    "a partner's 503s from the deploy's minute": (((PARTNER_503, 20),), {}, ESCALATE),
    "a partner's limit of the account both use": (((PARTNER_429, 20),), {}, ESCALATE),
    "a partner's 503s from the deploy's minute (httpx)": (((PARTNER_503_HTTPX, 20),), {}, ESCALATE),
    # The deploy changed what is presented: a rollback undoes it.
    "the deploy moved the key to another pinned version": (((STRIPE_EXPIRED, 20),), {"new_secrets": (KEY_8,)},
                                                           ROLLBACK),
    "the deploy changed the plain token": (((AXIOS_401, 20),), {
        "old_secrets": (), "new_secrets": (), "old_plain": PLAIN_KEY,
        "new_plain": (PLAIN_KEY[0], ("PARTNER_API_TOKEN", "fp_live_9zzQ"))}, ROLLBACK),
    "the deploy moved the key, a partner's 429": (((PARTNER_429, 20),), {"new_secrets": (KEY_8,)}, ROLLBACK),
    "no credential read from its settings": (((AXIOS_401, 20),), {"old_secrets": (), "new_secrets": ()}, ROLLBACK),
    "the deploy changed the service account (quota)": (((VERTEX, 20),), {"new_sa": OTHER_SA}, ROLLBACK),
    "the deploy moved the calls to a host whose certificate expired": (
        ((GO_EXPIRED.replace("api.partner", "api-v3.partner"), 20),),
        {"new_plain": (("PARTNER_API_URL", "https://api-v3.partner.example/v3"),)}, ROLLBACK),
    # Another revision answered in the same minutes: the canary's own doing.
    "a canary refused at the quota, the revision at 90% answered": (((VERTEX, 20),), {"canary": True}, ROLLBACK),
    "a canary's calls answered 503, the revision at 90% answered": (((PARTNER_503, 20),), {"canary": True},
                                                                    ROLLBACK),
    "the deploy moved the calls to a host answering 503": (
        ((PARTNER_503.replace("api.partner", "api-v3.partner"), 20),),
        {"new_plain": (("PARTNER_API_URL", "https://api-v3.partner.example/v3"),)}, ROLLBACK),
    # The answers name no host (a gRPC peer by address, CPython's certificate words): "the same hosts" holds
    # only when the deploy gave the new revision no host the target does not call.
    "a gRPC peer's UNAVAILABLE, no host named, the same target": (((GRPC_UNAVAILABLE, 20),), {
        "old_plain": INVENTORY, "new_plain": INVENTORY}, ESCALATE),
    "a gRPC peer's UNAVAILABLE, no host named, the deploy moved the target": (((GRPC_UNAVAILABLE, 20),), {
        "old_plain": INVENTORY, "new_plain": INVENTORY_V2}, ROLLBACK),
    "an expired certificate, no host named, the deploy moved the host": (((PY_EXPIRED, 20),), {
        "new_plain": (("PARTNER_API_URL", "https://api-v3.partner.example/v3"),)}, ROLLBACK),
    # A host only added: the answers may as well be the shared host's; held (a wrong rollback is worse).
    "an expired certificate, no host named, the deploy added a host beside": (((PY_EXPIRED, 20),), {
        "new_plain": (*PARTNER, ("LABELS_API_URL", "https://labels.partner.example/v1"))}, ESCALATE),
    "a gRPC peer's UNAVAILABLE, the target's plain env unread": (((GRPC_UNAVAILABLE, 20),), {
        "old_plain": (), "new_plain": INVENTORY_V2}, ESCALATE),
    # A Redis server's answer about its own state (a failover's old primary, its memory): the same instance for both.
    "a Memorystore failover's replica refusing writes, the same REDIS_HOST": (((REDIS_READONLY, 20),), {
        "old_plain": REDIS, "new_plain": REDIS}, ESCALATE),
    "Redis at its maxmemory, the same REDIS_HOST": (((REDIS_OOM, 20),), {"old_plain": REDIS, "new_plain": REDIS},
                                                   ESCALATE),
    "a replica refusing writes, the deploy moved REDIS_URL to the replica's name": (((REDIS_READONLY, 20),), {
        "old_plain": REDIS_NAMED, "new_plain": REDIS_NAMED_MOVED}, ROLLBACK),
    "a replica refusing writes, the deploy moved REDIS_HOST to the read endpoint's address": (((REDIS_READONLY, 20),), {
        "old_plain": REDIS, "new_plain": REDIS_READ_ENDPOINT}, ROLLBACK),
    "a replica refusing writes, the deploy moved REDIS_URL to another address": (((REDIS_READONLY, 20),), {
        "old_plain": REDIS_URL_BY_ADDRESS, "new_plain": REDIS_URL_BY_ADDRESS_MOVED}, ROLLBACK),
    "a replica refusing writes, the same REDIS_URL by address": (((REDIS_READONLY, 20),), {
        "old_plain": REDIS_URL_BY_ADDRESS, "new_plain": REDIS_URL_BY_ADDRESS}, ESCALATE),
    "a replica refusing writes, the same REDIS_URL by name": (((REDIS_READONLY, 20),), {
        "old_plain": REDIS_NAMED, "new_plain": REDIS_NAMED}, ESCALATE),
    "a replica refusing writes from a canary, the revision at 90% answered": (((REDIS_READONLY, 20),), {
        "old_plain": REDIS, "new_plain": REDIS, "canary": True}, ROLLBACK),
    # Not a verdict on what is presented, or too few.
    "the new code's own failures": (((OWN, 20),), {}, ROLLBACK),
    "a partner's 500s (the request may cause them)": (((PARTNER_500, 20),), {}, ROLLBACK),
    "its own failures outnumber the answers": (((VERTEX, 5), (OWN, 15)), {}, ROLLBACK),
    "two answers only": (((VERTEX, 2),), {}, ROLLBACK),
}


@pytest.mark.parametrize("lines, kwargs, expected", CASES.values(), ids=CASES.keys())
def test_a_rollback_to_a_revision_meeting_the_same_answer_is_held(lines, kwargs, expected):
    e = deployed(lines, **kwargs)
    result = diagnose(e.bundle(), S)
    assert (result.signature, plan(result, e.bundle(), S).action) == expected, result.summary


def test_a_canary_beside_a_revision_refused_alike_is_held():
    """The revision at 90% meets the same quota in the same minutes: not the canary's doing alone. Its own
    failures make them not concentrated on the canary (bad_revision's _errors_concentrated), so no rollback
    either way; the check beside never finds an answered revision."""
    e = deployed(((VERTEX, 20),), canary=True, old_lines=((VERTEX, 20),))
    e.requests(OLD, -6, 5, 60, code="500")
    result = diagnose(e.bundle(), S)
    assert plan(result, e.bundle(), S).action is None, result.summary


def test_the_escalation_names_what_both_present_and_what_to_check():
    result = diagnose(deployed(((STRIPE_EXPIRED, 20),)).bundle(), S)
    assert "Expired API Key provided" in result.summary and "api-key (env API_KEY)" in result.summary, result.summary
    assert f"{OLD} sends the same credential" in result.summary, result.summary
    assert "look at the key at the provider" in result.summary, result.summary
    quota = diagnose(deployed(((SHEETS, 20),)).bundle(), S)
    assert "the quota of sheets.googleapis.com" in quota.summary and "same project" in quota.summary, quota.summary


def test_a_grpc_repr_is_quoted_by_its_debug_string_not_its_closing_bracket():
    """grpcio's repr ends in a line holding ">" alone: the example quoted is the last line with a word in it."""
    result = diagnose(deployed(((GRPC_UNAVAILABLE, 20),), old_plain=INVENTORY, new_plain=INVENTORY).bundle(), S)
    assert "e.g. 'debug_error_string = " in result.summary and "e.g. '>'" not in result.summary, result.summary


@pytest.mark.parametrize("text", [PARTNER_503, REDIS_READONLY], ids=["a partner's 503s", "a Redis replica's writes"])
def test_the_minute_the_traffic_moved_is_not_served_beside_the_answers(text):
    """OLD still served, cleanly, in the minute the traffic moved (-6 to -5), and the downstream's answers began
    two minutes later: that minute shows nothing of the downstream in theirs, so OLD is not a revision answered
    beside them, and the rollback stays held (before, it counted, and the deploy was rolled back)."""
    e = deployed((), old_plain=REDIS if text == REDIS_READONLY else PARTNER,
                 new_plain=REDIS if text == REDIS_READONLY else PARTNER)
    e.requests(OLD, -6, -5, 40).latency(OLD, -6, -5, 0.2).log(-3, text, NEW, count=20)
    result = diagnose(e.bundle(), S)
    assert (result.signature, plan(result, e.bundle(), S).action) == ESCALATE, result.summary
