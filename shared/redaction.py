"""Credentials in what Runwarden keeps, quotes or writes, replaced by `[redacted credential]`.

A module of its own, with nothing of Runwarden's imported, so that every text that may carry a secret is
redacted by the same function: a rejected message (shared/alerts/received.py), an application's log line
(shared/gcp/logging.py) and a failure's text, a Google API's error message included (shared/errors.py,
`RunwardenError`), wherever these reach an outcome, the timeline or a log line.
"""
from __future__ import annotations

import re

# One list of shapes (`SHAPES`) for every text that may carry someone's secret into what Runwarden writes: a
# rejected message kept as it arrived (shared/alerts/received.py), an application's log line, which the
# diagnosis quotes as evidence (shared/gcp/logging.py: a database error naming its DSN, a stack trace with
# `postgresql://user:password@host`), and a failure's text (shared/errors.py: a Google API's error message
# may quote a request's field, a header or a URL as it was sent). tests/e2e/test_no_secrets.py scans
# everything Runwarden writes for the same shapes, and plants one of each.
REDACTED = "[redacted credential]"

# The shapes of credentials, by name, each a regular expression (joined into one, DOTALL):
# - `token`: OAuth 2.0 access tokens (Google's begin "ya29.");
# - `authorization`: the credentials of any `Authorization:` header of the Bearer or Basic scheme in any
#   case (RFC 9110 section 11.1: a scheme's name is case-insensitive; "basic checks" in prose is kept);
#   the header itself is kept;
# - `bearer`: a token after the word "bearer" in any case, in a header or not (`bEaReR <token>`, "token_type
#   bearer <token>": RFC 6750 section 2.1 writes it after the scheme's name, which RFC 9110 section 11.1
#   makes case-insensitive), the word kept. A token is RFC 6750's b64token, with no space, and at least 20
#   characters: "the bearer of bad news" and "Bearer authentication failed" are prose, kept;
# - `api_key`: a Google API key ("AIza" and 35 more characters: the `gcp-api-key` rule of
#   gitleaks/gitleaks `config/gitleaks.toml`);
# - `url_password`: the password of a URL's userinfo (`scheme://user:password@host`, RFC 3986 section
#   3.2.1, as a runbook's `postgresql://app:...@10.0.0.3/orders` holds it; the scheme, user and host kept);
# - `private_key`: a PEM private key up to its END line (or the end of the JSON string it is in);
# - `host_userinfo`: what comes before the last "@" of a host name a resolver or a database client failed to
#   look up (libpq's 'could not translate host name "H"', Go's "lookup H", Node's "getaddrinfo ENOTFOUND H",
#   Java's "UnknownHostException: H", MySQL's "Unknown MySQL server host 'H'" and PyMySQL's "Can't connect to
#   MySQL server on 'H'"), the "@" and the host after it kept. No host name holds an "@" (RFC 3986 section
#   3.2.2, reg-name; RFC 1123 host names): one that does was cut from a connection URL whose password held an
#   unescaped "@", the URL's parser ending the userinfo at the first "@" and reading the password's tail as
#   the host (SQLAlchemy's make_url; libpq's URI parsing the same way), so it is a credential's part. The quote
#   before the host may be escaped (`\"`: the line inside a JSON string, as a rejected message is kept).
SHAPES: tuple[tuple[str, str], ...] = (
    ("authorization", r"(?P<header>(?i:authorization\s*:\s*(?:bearer|basic)\s+))[\w.~+/-]{4,}=*"),
    ("token", r"ya29\.[\w-]+"),
    ("bearer", r"(?i:(?<=\bbearer))\s+[\w.~+/-]{20,}=*"),
    ("api_key", r"AIza[\w-]{35}"),
    ("url_password", r"(?P<userinfo>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\"']+:)[^\s@/\"']+(?=@)"),
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|[^\"]*)"),
    # Inside a quote the tail runs to the quote's own end (libpq's URI parser ends a host only at ":", "/", "?" or
    # ",", so a quote of the other kind or a space reaches it: 'host name "s3cr'et@10.40.0.3"'); unquoted, to a space
    # or a quote (a JSON line's next field may hold an "@" of its own: `"user":"api@shop.iam..."`). A tail holding the
    # very quote around it (`"s3cr"et@..."`) is not told from the quote's end: left, a known limit.
    # A tail already redacted (REDACTED, which holds a space) is no credential: a text redacted again is unchanged,
    # and no scan for the shapes finds one in it.
    ("host_userinfo", r"(?P<hostname>(?i:\bhost name \\?(?P<dq>\")|MySQL server (?:host|on) (?P<sq>')|\blookup "
                      r"|getaddrinfo (?:ENOTFOUND|EAI_AGAIN|EAI_NONAME) |UnknownHostException: ))"
                      r"(?!\[redacted credential\]@)(?(dq)[^\"\n]*|(?(sq)[^'\n]*|[^\s\"']*))@(?=[\w.-])"),
)
CREDENTIAL = re.compile("|".join(pattern for _, pattern in SHAPES), re.DOTALL)

# What each shape needs somewhere in a text (lower-cased) for it to match: a text with none of them holds
# no credential, found at the cost of a few substring searches instead of the whole expression's
# (12 us for a 250-character log line), on every log line the diagnosis reads.
_NEEDLES = ("authorization", "ya29.", "bearer", "aiza", "://", "private key", "host name", "lookup ", "getaddrinfo",
            "unknownhostexception", "mysql server")


def redacted(text: str) -> str:
    """`text` with every credential it holds replaced by REDACTED (what names it, a header or a URL's user, kept)."""
    lowered = text.lower()
    if not any(needle in lowered for needle in _NEEDLES):
        return text
    return CREDENTIAL.sub(_redaction, text)


def _redaction(match: re.Match[str]) -> str:
    if match.group("hostname"):   # the host after the last "@" is kept, as a URL's is
        return match.group("hostname") + REDACTED + "@"
    kept = match.group("header") or match.group("userinfo")
    if kept:
        return kept + REDACTED
    return (" " if match.group().startswith((" ", "\t")) else "") + REDACTED
