"""Failures a broken secret value gives, and the secrets two revisions read alike at "latest": pure, no
I/O, names and log words only (a secret's value is never read).

A secret read at "latest" is what Secret Manager holds when an instance reads it: an env var "resolved
at instance startup time", a mounted volume fetched "with the latest version" whenever it is read
(Cloud Run docs, "Configure secrets for services"). When the revision a rollback would send traffic to
reads the same secret at "latest" as the failing one, its new instances get the very value the failing
one's get now: a new version added around the deploy (a bad API key, a malformed config) breaks both,
and sending traffic back brings back the settings, not the value the older revision served with. Only
the failures such a value gives are read here: a configuration the application cannot parse as it
starts, and a downstream refusing the credential the application sends.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from shared.diagnosis.evidence import Revision, SecretRef
from shared.diagnosis.secret_refs import alike, by_where, names_a_credential, one_secret, secret_name, where_read

# What a line says a broken value did (value_failure).
CONFIG = "a configuration it cannot parse as it starts"
CREDENTIAL = "a downstream refusing the credential it sends"

# A configuration the application cannot parse, in each parser's own words (the exception as a
# traceback or a runtime prints it; as logged, word for word across versions UNCONFIRMED):
# - CPython's json: "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes:
#   line 27 column 1 (char 811)" (Lib/json/decoder.py, JSONDecodeError), and simplejson's
#   "simplejson.errors.JSONDecodeError"; CPython's tomllib: "tomllib.TOMLDecodeError" (Lib/tomllib).
# - PyYAML: "yaml.scanner.ScannerError", "yaml.parser.ParserError" (yaml/scanner.py, yaml/parser.py).
# - V8's JSON.parse: "SyntaxError: Unexpected token } in JSON at position 811", "SyntaxError:
#   Expected double-quoted property name in JSON at position 811", "SyntaxError: Unexpected end of
#   JSON input", "SyntaxError: \"...\" is not valid JSON" (Node 20+).
# - Go's encoding/json: "invalid character '}' looking for beginning of object key string",
#   "unexpected end of JSON input" (encoding/json scanner.go, SyntaxError); gopkg.in/yaml's
#   "yaml: line 14: did not find expected key".
# - Jackson: "com.fasterxml.jackson.core.JsonParseException", "com.fasterxml.jackson.core.io.JsonEOFException".
# A parse failure a request meets (a downstream's HTML error page read as JSON) says nothing of a
# secret: the caller counts these only from a revision whose instances fail to start (bad_revision).
_CONFIG_PARSE = re.compile(
    r"\bJSONDecodeError\b|\bTOMLDecodeError\b|\byaml\.(?:scanner\.ScannerError|parser\.ParserError)\b"
    r"|\bSyntaxError: [^\n]*\bJSON\b"
    r"|\binvalid character '[^'\n]{1,4}' (?:looking for beginning|after object key|after top-level value"
    r"|in string literal)|\bunexpected end of JSON input\b"
    r"|\byaml: line \d+: "
    r"|\bcom\.fasterxml\.jackson\.core\.(?:JsonParseException|io\.JsonEOFException)\b")

# A downstream refusing the credential the application sends, in the words of the client that raised
# it (as logged, word for word across versions UNCONFIRMED unless named):
# - requests' raise_for_status: "401 Client Error: Unauthorized for url: https://..." (requests/models.py,
#   Response.raise_for_status, "%s Client Error: %s for url: %s").
# - httpx's raise_for_status: "Client error '401 Unauthorized' for url 'https://...'" (httpx/_models.py,
#   "{error_type} '{0.status_code} {0.reason_phrase}' for url '{0.url}'").
# - aiohttp's ClientResponseError: "401, message='Unauthorized', url=..." (aiohttp/client_exceptions.py).
# - axios: "AxiosError: Request failed with status code 401" (axios lib/core/settle.js).
# - Spring's RestTemplate: "HttpClientErrorException$Unauthorized: 401 Unauthorized".
# - The key itself named as refused: Stripe's "Invalid API Key provided: sk_live_****" (its
#   AuthenticationError, HTTP 401), and its "Expired API Key provided: rk_test_****" (code
#   api_key_expired, HTTP 401: a key rolled or expired at the provider, stripe/stripe-cli pull request
#   #792), OpenAI's "Incorrect API key provided", Google APIs' "API key not valid. Please pass a valid
#   API key." (reason API_KEY_INVALID: an error body with a bad key, as public code quotes it; the
#   Google page that words it UNCONFIRMED), "invalid_api_key" codes, and OAuth 2.0's "invalid_client"
#   (RFC 6749 section 5.2: "Client authentication failed", a client secret).
# A bare 403 is left out: an account refused an operation says which permission, not which key.
_CREDENTIAL_REFUSED = re.compile(
    r"\b401 Client Error: Unauthorized\b|\bClient error '401 Unauthorized'|\b401, message='Unauthorized'"
    r"|\bRequest failed with status code 401\b|\bHttpClientErrorException\$Unauthorized\b"
    r"|\b(?:Invalid|Expired) API Key provided\b|\bapi_key_expired\b|\bIncorrect API key provided\b"
    r"|\bAPI key not valid\b|\bAPI_KEY_INVALID\b"
    r"|\binvalid_api_key\b|[\"']error[\"']\s*:\s*[\"']invalid_client[\"']",
    re.IGNORECASE)


def value_failure(text: str) -> str:
    """What a log line says a broken secret value did: CREDENTIAL (a downstream refused the credential
    sent), CONFIG (a configuration the application could not parse), or "" for neither. A line
    holding both is the refusal's: a client that printed a refusal got that far."""
    if _CREDENTIAL_REFUSED.search(text):
        return CREDENTIAL
    if _CONFIG_PARSE.search(text):
        return CONFIG
    return ""


def _secret_id(ref: SecretRef) -> str:
    """The secret's id: a secret may be named by id or as projects/P/secrets/S (SecretKeySelector.secret)."""
    return ref.secret.rsplit("/", 1)[-1]


def as_read(ref: SecretRef) -> str:
    """The version `ref` names for GetSecretVersion: its number, an alias as named, or "latest" (also for an
    unset version, read as latest: SecretRef.version, UNCONFIRMED). "latest" in any case: Secret Manager
    refuses it, in any case, as an alias name ("You cannot use `Latest` or `New` (case-insensitive) as an
    alias name", Secret Manager docs, "Assign an alias to a secret version")."""
    version = ref.version.strip()
    return "latest" if version.lower() in ("", "latest") else version


def read_alike(failing: Revision, ref: SecretRef) -> bool:
    """Whether `failing` reads the secret `ref` names (a ref of another revision of its service, so of its
    project: secret_refs.secret_name, one_secret), at the same "latest" or alias (as_read):
    a new instance of either gets the version Secret Manager resolves it to then, the same one, so a rollback
    from `failing` changes nothing about which version is read (collection.target_secret_reads reads such a
    version last). A version pinned by number is never read alike here: it is judged by its own state
    (rules/target_secrets.py)."""
    version = as_read(ref)
    name = secret_name(failing, ref)
    return not version.isdigit() and any(one_secret(secret_name(failing, r), name) and as_read(r) == version
                                         for r in failing.secrets)


def read_at_latest_by_both(target: Revision, failing: Revision) -> list[SecretRef]:
    """The secrets `failing` reads at "latest" (or unset: SecretRef.pinned false) that `target` reads
    at "latest" too, by full name (secret_refs.secret_name, one_secret: one id in another project is another
    secret), each once, in `failing`'s order: a new instance of either gets whatever Secret Manager holds now.
    [] when none (one of them pins it, or only one reads it)."""
    at_latest = [secret_name(target, ref) for ref in target.secrets if not ref.pinned]
    found: dict[str, SecretRef] = {}
    for ref in failing.secrets:
        name = secret_name(failing, ref)
        if not ref.pinned and any(one_secret(name, theirs) for theirs in at_latest):
            found.setdefault(name, ref)
    return list(found.values())


def read_differently(target: Revision, failing: Revision) -> list[str]:
    """Where `failing` reads its secrets differently from `target` (secret_refs.secrets_changed: another
    secret or version for an env var, a volume or a volume's item, one added or gone; every ref read at one
    place compared, secret_refs.by_where), leaving out what reads the same for a new instance: the same
    secret at "latest" on both, whether named by id or in full, "latest" or unset (an unset version read
    as latest, UNCONFIRMED as secret_refs says). A secret is its full name (secret_refs.secret_name): one id in
    another project is another secret, whose value a rollback does change. [] when nothing else changed: a
    rollback changes no secret value its new instances read."""
    old, new = by_where(target), by_where(failing)
    return sorted(where for where in old.keys() | new.keys()
                  if where not in old or where not in new
                  or not alike(_as_read(target, old[where]), _as_read(failing, new[where])))


def _as_read(revision: Revision, refs: tuple[SecretRef, ...]) -> list[tuple[str, str]]:
    """What a new instance of `revision` reads at one place: each secret by its full name, a pinned ref at its
    version as named, one at "latest" or unset at "latest" (the same secret's newest version either way)."""
    return [(secret_name(revision, ref), ref.version if ref.pinned else "latest") for ref in refs]


def may_hold(ref: SecretRef, kind: str) -> bool:
    """Whether the secret `ref` may hold what a `kind` failure was about: any secret may hold a
    credential; a configuration is a volume's file, or an env var whose name does not say it holds a
    credential alone (CONFIG_JSON, SETTINGS, GOOGLE_CREDENTIALS)."""
    return kind != CONFIG or bool(ref.volume) or not names_a_credential(ref.env)


def named(refs: Iterable[SecretRef]) -> str:
    """The secrets in words, by where they are read and their id ("checkout-stripe-key (env
    STRIPE_API_KEY)"), never a value."""
    return ", ".join(f"{_secret_id(ref)} ({where_read(ref)})" for ref in refs)


# A URL's host as a client prints the address it called ("for url: https://api.stripe.com/v1/...").
_URL_HOST = re.compile(r"\bhttps?://([^/\s'\"<>:?#]+)", re.IGNORECASE)


def url_hosts(text: str) -> set[str]:
    """The hosts of the URLs `text` quotes (lower case): where a refused call went."""
    return {m.group(1).lower() for m in _URL_HOST.finditer(text)}
