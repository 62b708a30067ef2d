"""Credentials in what Runwarden keeps, quotes or writes, replaced by `[redacted credential]`.

A module of its own, with nothing of Runwarden's imported, so that every text that may carry a secret is
redacted by the same function: a rejected message (shared/alerts/received.py), an application's log line
(shared/gcp/logging.py) and a failure's text, a Google API's error message included (shared/errors.py,
`RunwardenError`), wherever these reach an outcome, the timeline or a log line.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Iterator

import ahocorasick_rs

# One list of shapes (`SHAPES`) for every text that may carry someone's secret into what Runwarden writes: a
# rejected message kept as it arrived (shared/alerts/received.py), an application's log line, which the
# diagnosis quotes as evidence (shared/gcp/logging.py: a database error naming its DSN, a stack trace with
# `postgresql://user:password@host`), and a failure's text (shared/errors.py: a Google API's error message
# may quote a request's field, a header or a URL as it was sent). tests/e2e/test_no_secrets.py scans
# everything Runwarden writes for the same shapes, and plants one of each.
REDACTED = "[redacted credential]"

# The words before a host name a resolver or a database client failed to look up, one row per client: (the words, a
# regular expression read in any case; the quote the client puts around the host, or "" for none). One table, read by
# both readers of such a host: `host_userinfo` below (what it redacts) and shared/diagnosis/log_signals.py
# `_USERINFO_IN_HOST` (the advice that the URL's password holds an "@"), each built by `host_userinfo_pattern`, so
# that neither learns a client's words the other lacks (tests/unit/test_host_holding_userinfo.py).
LOOKUP_WORDS: tuple[tuple[str, str], ...] = (
    (r"\bhost name ", '"'),                   # libpq: could not translate host name "H" to address (fe-connect.c)
    (r"MySQL server host ", "'"),             # MySQL's 2005: Unknown MySQL server host 'H' (%d)
    (r"MySQL server on ", "'"),               # PyMySQL's 2003: Can't connect to MySQL server on %r (connections.py)
    (r"\blookup ", ""),                       # Go: dial tcp: lookup H on R:53: no such host (net/dnsclient)
    (r"getaddrinfo (?:ENOTFOUND|EAI_AGAIN|EAI_NONAME) ", ""),   # Node: lib/internal/errors.js dnsException
    (r"UnknownHostException: ", ""),          # Java: java.net.UnknownHostException: H
)

# A quote inside a quoted value (a host, a URL's password) is the value's own unless what follows it is what follows
# a closing quote: a space, the end of the line, or punctuation that ends a value (a JSON line's next field "," or
# "}", libpq's `" to address`, MySQL's `' (-2)`, a repr's ")"). A quote followed by anything else (`"s3cr"et@...`: a
# word, an "@") closes nothing, so the value runs on to its real end, on the safe side; the next JSON field's key,
# after `",`, is never reached. A password holding a quote followed by one of those is not told from the value's end:
# it is read as ended there (a known limit, as any parser of the line would read it). An unquoted value under a
# secret's name is read so too: `password: it's-Q9x` and `PGPASSWORD=ab"cd` run on past their quote.
_CLOSES = r"(?:[\s,;:)\]}>]|$)"


def host_userinfo_pattern(*, escaped_quote: bool, redacted_tail: bool) -> str:
    """The expression of a failed lookup's host holding an "@", from LOOKUP_WORDS: the words (group `hostname`), what
    comes before the host's last "@", and the "@" (a host character after it is looked at, not taken).
    `escaped_quote`: the quote before the host may be escaped (`\\"`: the line inside a JSON string, as a rejected
    message is kept); `redacted_tail`: a tail already redacted (REDACTED's words, which hold a space) is read as a tail
    (the diagnosis reads redacted lines) rather than left alone (redaction: redacting twice changes nothing)."""
    escape = r"\\?" if escaped_quote else ""
    double, single, bare = ("|".join(w for w, q in LOOKUP_WORDS if q == quote) for quote in ('"', "'", ""))
    prefix = rf"(?P<hostname>(?i:(?:{double}){escape}(?P<dq>\")|(?:{single})(?P<sq>')|(?:{bare})))"
    words = re.escape(REDACTED)
    fresh = "" if redacted_tail else rf"(?!{words}@)"
    plain = rf"(?:{words}|[^\s\"']|[\"'](?!{_CLOSES}))*" if redacted_tail else rf"(?:[^\s\"']|[\"'](?!{_CLOSES}))*"
    return (rf"{prefix}{fresh}(?(dq)(?:[^\"\n]|\"(?!{_CLOSES}))*|(?(sq)(?:[^'\n]|'(?!{_CLOSES}))*|{plain}))"
            rf"@(?=[\w.-])")


# Where a value kept as no secret must end: a word that merely begins one (`password=no-way-Q9`, `=/x8KdQ2+vL0`,
# `=$uperS3cret`) is a secret's start.
_VALUE_ENDS = r"""(?=[\s&;,'"})\]]|$)"""
# Where a word saying nothing is set (`no`, `none`) ends a value: as a value's end does, but before a space only at the
# line's end, an opening parenthesis, a comment or the next pair; before another word it is a passphrase's first (`no
# pain no gain`).
_SET_ENDS = r"""(?=[&;,'"})\]]|[ \t]*(?:\r?\n|$)|[ \t]+(?:[(#]|[\w.-]+(?:=|:(?:[ \t]|$))))"""
# What a value under a secret's name may be without being one, kept: nothing set (Python's None, JSON's null, a
# boolean; MySQL's "(using password: YES)", which the diagnosis reads), a path (a secret mounted as a file, Cloud Run's
# volumes; a shell's PWD: lower-case letters, digits, ".", "_" and "-" between its slashes, as such paths are
# written, so a base64 password beginning with "/", whose letters are of both cases, is no path), a Secret Manager version's name (what a person checks), a shell variable named in its place (upper case, as the shell's own are written),
# a value already redacted (redacting twice changes nothing), a secret's reference as Cloud Run takes it (`SECRET:VERSION`,
# a version "latest" or a number: gcloud run deploy `--set-secrets=DB_PASS=db-pass:latest`, Cloud Run "Configure
# secrets for services"; the secret's name is what a person checks), Terraform's mark of a value it hides ("(sensitive
# value)" in a plan, Terraform "Sensitive Data in State" / output values' `sensitive`), or a placeholder in angle
# brackets (Go's fmt prints a nil pointer `<nil>`; a template's `<password>`), or a value a library or a person already
# masked: a run of asterisks (Spring Boot's actuator `/env` shows "******", its Sanitizer), pydantic's
# `SecretStr('**********')` (pydantic "Secret Types": a SecretStr's repr), a bracketed `[REDACTED]`, `[hidden]`,
# `[masked]` or `[filtered]` (Rails' parameter filter writes "[FILTERED]").
_NOT_A_SECRET = (rf"(?!(?i:none|null|nil|true|false|yes|no){_SET_ENDS}|/[a-z0-9._-]*(?:/[a-z0-9._-]*)*{_VALUE_ENDS}"
                 rf"|projects/[^/\s]+/secrets/|\$\{{?[A-Z_][A-Z0-9_]*\}}?{_VALUE_ENDS}|{re.escape(REDACTED)}"
                 rf"|[A-Za-z0-9_-]+:(?:latest|\d{{1,6}}){_VALUE_ENDS}|\(sensitive(?: value)?\)|<[a-z ]{{1,20}}>"
                 rf"|\*{{3,}}{_VALUE_ENDS}|Secret(?:Str|Bytes)\(b?'\*+'\)|\[(?i:redacted|hidden|masked|filtered)\])")

# The shapes of credentials, by name, each a regular expression (joined into one, DOTALL):
# - `authorization`: the credentials of any `Authorization:` (or `Proxy-Authorization:`) header, of a registered scheme
#   (`_AUTH_SCHEMES`) in any case (RFC 9110 section 11.1: a scheme's name is case-insensitive; "basic checks" in prose is kept): after Bearer or
#   Basic, any token; after another scheme, its auth-params or a token68 with a credential's sign (`_TOKEN68`: Django
#   REST framework's `Token`, GitHub's `token`, Elastic's `ApiKey`, Digest's `response=`, AWS Signature V4's
#   `Credential=..., Signature=...` as Cloud Storage's XML API takes an HMAC key's), or a header with no scheme; the
#   header and its scheme kept, as it is written in a header's line or as a mapping's key and value
#   (`{'Authorization': 'Basic ...'}`: requests' `PreparedRequest.headers` in a debug line, requests/auth.py
#   `_basic_auth_str`; `"authorization": "Bearer ..."` in a JSON line); prose after the header's name, a word with no
#   digit ("authorization: permission denied"), kept;
# - `token`: OAuth 2.0 access tokens (Google's begin "ya29."; a service account's, as google-auth returns them, hold
#   more dots after it, "ya29.c.c0...": each dotted part is the token's; the exact format is UNCONFIRMED, Google's
#   OAuth 2.0 docs calling tokens opaque, of a size that may change);
# - `bearer`: a token after the word "bearer" in any case, in a header or not (`bEaReR <token>`, "token_type
#   bearer <token>": RFC 6750 section 2.1 writes it after the scheme's name, which RFC 9110 section 11.1
#   makes case-insensitive), the word kept. A token is RFC 6750's b64token, with no space, and at least 20
#   characters: "the bearer of bad news" and "Bearer authentication failed" are prose, kept;
# - `api_key`: a Google API key ("AIza" and 35 more characters: the `gcp-api-key` rule of
#   gitleaks/gitleaks `config/gitleaks.toml`), in a `key=` parameter or an `X-Goog-Api-Key` header alike;
# - `jwt`: a JSON Web Token (RFC 7519: three base64url parts joined by ".", the first two JSON objects, so "eyJ";
#   the `jwt` rule of gitleaks `config/gitleaks.toml`): an ID token, a signed assertion, outside any header;
# - `url_password`: the password of a URL's userinfo (`scheme://user:password@host`, RFC 3986 section
#   3.2.1, as a runbook's `postgresql://app:...@10.0.0.3/orders` holds it; the scheme, user and host kept), the user
#   possibly empty (redis-py's `from_url` docstring: `redis://[[username]:[password]]@localhost:6379/0`, so
#   `redis://:PASSWORD@host`), up to the host's last "@": a password holding an "@" not percent-encoded (RFC 3986
#   asks for "%40") is still the password's (`app:p@ss@10.0.0.3`, as SQLAlchemy 1.4's `str(engine.url)` writes it),
#   and a quote in it as `_CLOSES` reads one, and so are up to four spaces not percent-encoded (SQLAlchemy's
#   engine/url.py `_parse_url` reads a password as `[^@]*`, so such a URL connects and is printed as set), words
#   holding no "@" before them. "?" and "#" end the authority (RFC 3986 section 3.2): a user or password never holds
#   one, so a query's "@" (`https://host:8443?next=a@b`) is no password's end; nor is a port (digits then "/", "?",
#   "#", a space or the end: `https://host:443 is down, mail ops@example.com` keeps its port);
# - `private_key`: a PEM private key up to its END line (or the end of the JSON string it is in: a service account
#   key's `private_key`, in an environment's dump), and a text that is nothing but one line of a PEM body (`_PEM_LINE`):
#   a key printed to stdout reaches Cloud Logging a line an entry (Cloud Run "Logging and viewing logs": each line
#   written to stdout or stderr is its own entry, unless it is one JSON object), so its BEGIN line, redacted whole,
#   leaves the body's lines each alone in an entry, its line end ("\n", "\r\n") after it or not, kept as it is. RFC
#   7468 section 2: a body line holds exactly 64 base64 characters;
#   a line of both cases and a digit (a hex digest, one case, is no such line). A certificate's body line, public, is
#   redacted too, on the safe side; the body's last line, shorter, is not told from a short base64 value (a message's
#   data kept as base64, shared/alerts/received.py) and is left: a known limit;
# - `secret_field`: the value under a name that says it is a secret, the name kept: `password`, `passwd`, `pwd`,
#   `secret`, `token`, an API, access, secret or private key and a key named for what it is (`_KEY_NAMES`:
#   `ENCRYPTION_KEY`, `RAILS_MASTER_KEY`, `HMAC_KEY`, `SIGNING_KEY`, a key file's `private_key_id`), `pass` and `auth`
#   as a name's own word (`DB_PASS`, `db-pass`, `REDISCLI_AUTH`, not `bypass`), a header's or parameter's `-Signature` (`X-Goog-Signature`), a query's `?Signature=`/`&Signature=` (a V2 signed
#   URL's, beside `GoogleAccessId` and `Expires`: google-cloud-storage blob.py `generate_signed_url`, whose version
#   defaults to "v2"; a bare "signature" is
#   the diagnosis's own word, `"signature": "bad_revision"`), ending the name (`PGPASSWORD`, `sslpassword`,
#   `client_secret`; not `token_type`), in every form a connection's settings are written: `name=value` (a JDBC
#   URL's query, pgjdbc "Connecting to the Database": `jdbc:postgresql://localhost/test?user=fred&password=secret`;
#   libpq's keyword/value string, PostgreSQL "Connection Strings", a value possibly single-quoted; an ODBC or ADO.NET
#   connection string's `Pwd=...;`/`Password=...;`, a value possibly in braces, Microsoft's "Connection string
#   keywords"; `PGPASSWORD=...` before a command in a process listing, which PostgreSQL's "Environment Variables"
#   warns `ps` shows; a GCS signed URL's `X-Goog-Signature`, Cloud Storage "Signed URLs"), a quoted name and a colon
#   (a JSON line, a Python mapping's repr: Django's DATABASES `'PASSWORD': '...'`, whose own debug page hides names
#   matching API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE, django/views/debug.py `SafeExceptionReporterFilter`), a name
#   and a colon before a quoted value (YAML), and an `X-...-Api-Key:` or `X-...-Token:` header, and a name and a colon
#   before an unquoted value (YAML 1.2 section 7.3.3's plain scalar, `password: s3cret` in a config echoed at start-up;
#   a log line's `secret: ... api_key: ...`; after a password's or a key's name no space either, `password:tiger`,
#   unless a secret's version follows a secret's name, `db-pass:latest`, `_VERSION`) unless that value is a word of
#   prose (`_PROSE_WORD`: "invalid
#   token: expired", "token: 401"; not a hex or long single-case run, `_KEY_RUN`, nor a word before a finite verb,
#   `token: Hunter is wrong`; after a password's, passphrase's, secret's or a key's name only `_STRICT_PROSE`'s words,
#   "using password: YES", a driver's sentence or message, `_SENTENCE`, and after `secret:` a secret's name), and
#   after a password's or a secret's name each further word of a spaced value (`_MORE_WORDS`); a YAML block scalar's
#   lines (`password: |` and the lines indented as its first, YAML 1.2 section 8.1); a URL-encoded pair's value
#   (`password%3D...`, a query encoded inside another's parameter, RFC 3986 section 2.1); a
#   passphrase's unquoted words to its line's end or the next pair (`_PHRASE`). Not when the value is one `_NOT_A_SECRET` keeps; gcloud's
#   `--secret=NAME` names a Secret Manager secret (gcloud secrets versions access), kept;
# - `env_value`: the value of an environment variable named for a secret, where the name and the value are two fields
#   of one entry, as Cloud Run's API writes a container's env (Cloud Run Admin API v2, `EnvVar`: `name`, `value`, in
#   the JSON of an audit log's request or `gcloud run services describe --format=json`; Kubernetes' `- name: X` /
#   `value: Y` in YAML; Terraform's `env { name = "X" value = "Y" }`): `{"name": "DB_PASSWORD", "value": "..."}`,
#   `{"name": "ENCRYPTION_KEY", ...}` (`_KEY_NAMES`), the
#   name kept, a quoted value to its own closing quote (`_DQ_BODY`, `_SQ_BODY`: `"it's-x"`, `"ab\"cd"` whole); a
#   `value_source`'s secret reference holds no value;
# - `statement_password`: the password a SQL statement sets, as an application logs its statement or a driver's
#   error quotes it: MySQL's `IDENTIFIED BY 'pw'` (also `IDENTIFIED WITH plugin BY`), `SET PASSWORD ... = 'pw'`
#   (MySQL "CREATE USER Statement", "SET PASSWORD Statement": the server's own logs rewrite them, "Passwords and
#   Logging", not what the application writes), PostgreSQL's `[ENCRYPTED] PASSWORD 'pw'` (CREATE ROLE: "the
#   password ... might also be logged in the client's command history or the server log");
# - `host_userinfo`: what comes before the last "@" of a host name a resolver or a database client failed to
#   look up (LOOKUP_WORDS: libpq's 'could not translate host name "H"', Go's "lookup H", Node's "getaddrinfo ENOTFOUND H",
#   Java's "UnknownHostException: H", MySQL's "Unknown MySQL server host 'H'" and PyMySQL's "Can't connect to
#   MySQL server on 'H'"), the "@" and the host after it kept. No host name holds an "@" (RFC 3986 section
#   3.2.2, reg-name; RFC 1123 host names): one that does was cut from a connection URL whose password held an
#   unescaped "@", the URL's parser ending the userinfo at the first "@" and reading the password's tail as
#   the host (SQLAlchemy's make_url; libpq's URI parsing the same way), so it is a credential's part. The quote
#   before the host may be escaped (`\"`: the line inside a JSON string, as a rejected message is kept). Inside a
#   quote the tail runs to the quote's own end as `_CLOSES` reads it (libpq's URI parser ends a host only at ":",
#   "/", "?" or ",", so a quote of either kind or a space reaches it: 'host name "s3cr'et@10.40.0.3"',
#   'host name "s3cr"et@10.40.0.3"'); unquoted, to a space or such a quote (a JSON line's next field may hold an "@" of
#   its own: `"user":"api@shop.iam..."`). A tail already redacted (REDACTED, which holds a space) is no credential:
#   a text redacted again is unchanged, and no scan for the shapes finds one in it;
# - `cookie`: a `Cookie:` header's pairs, and a `Set-Cookie:` header's own pair (RFC 6265 sections 4.1 and 4.2: a
#   session's cookie is its credential, Django's `sessionid`), the header's name kept, and a `Set-Cookie`'s attributes
#   (`Path`, `Expires`) after it;
# - `option_password`: a password on a command line as its client takes it (a deploy script's `set -x`, a process
#   listing): MySQL's clients' `-pPASSWORD` in a command's place (`_MYSQL_COMMAND`; MySQL "mysql Client Options":
#   `-p[password]`, no space after `-p`, quoted or not), curl's `-u user:PASSWORD`/`--user` (curl's manual, "-u,
#   --user <user:password>"), redis-cli's `-a PASSWORD` (its help: "Password to use when connecting to the server"), and any long option
#   named for a secret (`_SECRET_OPTION`) with its value as the next argument (`--db-password hunter2`,
#   `--encryption-key K`, `--db-pass P`: Go's flag package and Python's argparse take both forms), on a command line
#   or in a container's args as Cloud Run's API lists them (Cloud Run Admin API v2 `Container.args`, a list of
#   strings: `"args": ["--db-pass", "P"]` in JSON, escaped or not, a Python list's repr, a YAML list); mysql's `-p`, a
#   space and a value written as no database's name is (`_MYSQL_NAMED`, below), and sqlcmd's `-P password` (Microsoft
#   "sqlcmd utility"); `--no-password` and a bare `-p` (mysql then prompts) take none; mysql's `--password` followed by
#   a space takes no value either, so the next argument (a database's name) is redacted by mistake: a known
#   over-redaction, on the safe side;
# - `dsn_password`: a Go MySQL DSN's password (go-sql-driver/mysql README, "DSN (Data Source Name)":
#   `[username[:password]@][protocol[(address)]]/dbname`, "Passwords can consist of any character", the last "@"
#   before the protocol ending it; Cloud SQL's Go sample dials `user:pass@unix(/cloudsql/INSTANCE)/db`), and an Oracle
#   thin URL's (Oracle "JDBC Developer's Guide": `jdbc:oracle:thin:scott/tiger@//myhost:1521/orcl`), user and host kept;
# - `webhook`: the path of a webhook's URL, which is its credential (Slack "Sending messages using incoming webhooks":
#   `https://hooks.slack.com/services/T.../B.../X...`, "keep it secret"; Discord "Webhook Resource":
#   `/webhooks/{webhook.id}/{webhook.token}`; gitleaks `slack-webhook-url`): on a host named for hooks, or after a
#   `/webhooks/` or `/hooks/` segment, when the rest holds a token's run (16 letters or digits, and a digit): a route's
#   name (`/api/webhooks/stripe`) kept, and a Cloud Run service's under `/services/` never read as one;
# - `vendor_token`: a secret whose own prefix names it, anywhere: Google OAuth refresh tokens ("1//0", UNCONFIRMED:
#   Google's OAuth 2.0 docs call tokens opaque; the OAuth Playground's and gcloud's stored credentials show it), Google
#   OAuth client secrets ("GOCSPX-", UNCONFIRMED in Google's docs), and gitleaks `config/gitleaks.toml`'s `github-pat`
#   and its siblings (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), `slack-bot-token` and its siblings
#   (`xoxb-`...), `stripe-access-token` (`sk_live_`...), `gitlab-pat` (`glpat-`). A Cloud Storage HMAC key's access ID
#   (`GOOG...`, Cloud Storage "HMAC keys"; `_KEY_ID`) names a key, as an AWS access key ID does, and is kept; its secret is
#   redacted under its name (`secret: ...`, as `gcloud storage hmac create` prints it). Google's OAuth authorization
#   codes ("4/0A", UNCONFIRMED: as the OAuth Playground shows them) in a callback's request URL (`?code=...`) too;
# - `key_pair`: the secret printed beside its access key's ID, as a key is handed out (AWS IAM "Manage access keys for
#   IAM users": an access key ID, `AKIA...` for a long-term key, `ASIA...` for a temporary one, and its 40-character
#   secret access key, listed together in `aws iam create-access-key`'s output and the console's `.csv`; the `aws-access-token`
#   rule of gitleaks `config/gitleaks.toml`), and a Cloud Storage HMAC key's (`GOOG...` and its 40-character secret,
#   Cloud Storage "HMAC keys"; `_KEY_ID`), within a few separators of each other (a space, a tab, a comma, a colon, a quote): the
#   ID kept (what a person deactivates), the secret redacted; a hex digest of 40 characters after an ID is no secret
#   key (a secret key holds both cases). Each secret under its own name (`aws_secret_access_key=`,
#   `"SecretAccessKey": ...`, `secret: ...`) is `secret_field`'s;
# - `secret_payload`: a Secret Manager secret's value as a printed AccessSecretVersionResponse shows it (Secret Manager
#   API reference, `SecretPayload.data`: "The secret data", bytes; the proto's text format `payload {\n  data: "..."`,
#   as a proto-plus message prints, and its JSON `"payload": {"data": "<base64>"`), the field's name kept, its quotes
#   escaped or not (a line inside a JSON string); the version's name beside it is what a person checks, kept.
# An access key's ID (`key_pair`): AWS's `AKIA`/`ASIA` and 16 capitals or digits, and a Cloud Storage HMAC key's
# access ID, `GOOG` and capitals or digits: 61 characters for a service account's key in Cloud Storage "HMAC keys"
# (`GOOGTS7C7FUP3AIRVJTE2BCDKINBTES3HC2GY5CBFJDCQ2SYHV6A6XXVTJFSA`), 23 in gcloud's reference "gcloud storage hmac
# describe" (`GOOG56JBMFZX6PMPTQ62VD2`, the ACCESS_ID), `GOOG1` and more for a user account's; their full range of
# lengths is UNCONFIRMED, so any run of 19 to 60 after `GOOG` is read as one.
_KEY_ID = r"(?:AKIA|ASIA)[A-Z0-9]{16}|GOOG[A-Z0-9]{19,60}"
# Where a field's name starts: after no letter or digit, or after an escaped line end or tab (`\npayload {`: the text
# inside a JSON string, as a rejected message is kept, where `\b` sees the escape's "n" as the name's neighbour).
_NAME_STARTS = r"(?:(?<![A-Za-z0-9_])|(?<=\\[nrt]))"
_QUOTE_IN_VALUE = rf"\\?[\"'](?!{_CLOSES})"
# Rails' Active Record encryption keys, as `bin/rails db:encryption:init` prints them and an environment names them
# (Rails guides "Active Record Encryption": `primary_key`, `deterministic_key`, `key_derivation_salt`;
# `ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY`, `config.active_record.encryption.primary_key`), and a list of keys
# (`ENCRYPTION_KEYS`). A bare `primary_key` is a table's (`primary_key: id`), so only joined to "encryption" here, or
# inside the block `bin/rails db:encryption:init` prints (`_RAILS_BLOCK`).
_RAILS_KEYS = r"encryption[_.-]?(?:primary[_-]?key|keys)|deterministic[_-]?key|key[_-]?derivation[_-]?salt"
# The Active Record encryption block of Rails' credentials, as `bin/rails db:encryption:init` prints it (Rails guides
# "Active Record Encryption", "Setup"): `active_record_encryption:` and, on the lines indented under it, a bare
# `primary_key: ...` (a scalar, or a YAML list of keys, block or flow: the guide's "Key rotation" keeps the old keys in
# a list), or the same as JSON (`{"active_record_encryption": {"primary_key": "..."}}`, a credentials dump). What comes
# between the block's name and its `primary_key` is kept (the block's name and its other keys, each redacted by its own
# name: `_redaction`).
# A YAML block scalar's indicator, literal or folded, and its chomping and indentation (YAML 1.2 section 8.1.1: `|`,
# `>-`, `|+2`), last on its line: the value is on the lines indented under it (`primary_key: >-\n    KEY`).
_BLOCK_INDICATOR = r"[|>][-+1-9]{0,2}[ \t]*(?=\r?\n|$)"
_RAILS_BLOCK = (r"(?P<railsblock>" + _NAME_STARTS + r"active_record_encryption\\?[\"']?[ \t]*:(?:[^}\n]|\r?\n[ \t]+)*?(?<![\w.-])"
                rf"primary_key\\?[\"']?[ \t]*:[ \t]*(?!{re.escape(REDACTED)})"
                rf"(?:\r?\n[ \t]+-[ \t]+|(?P<railslist>\[)|\\?[\"']|{_BLOCK_INDICATOR}\r?\n[ \t]+)?)"
                rf"(?(railslist)(?!{re.escape(REDACTED)}\])[^\]\n]+(?=\])|(?!\[|{_BLOCK_INDICATOR})" + _NOT_A_SECRET
                + r"[^\s\"',}\]\\]+"
                r"(?:\r?\n[ \t]+-[ \t]+[^\s\"',}\]\\]+)*)")
_SECRET_WORDS = (r"(?i:(?P<fstrict>password|passwd|pwd"
                 r"|(?:api|secret|encryption|master|hmac|signing)[_-]?key(?:[_-]?base)?|" + _RAILS_KEYS +
                 r"|private[_-]?key(?:[_-]?id)?|(?<=[A-Za-z0-9][_-])pass)|(?P<fphrase>passphrase)"
                 r"|(?P<fsecret>(?<!--)(?:(?P<fbare>(?<![\w-]))secret|(?<=[\w-])secret))|token|(?:access|app)[_-]?key"
                 r"|(?<=[-?&])signature|(?<![A-Za-z0-9])(?:auth[_-]?string|pass|auth))")
# A word a colon's prose puts after a secret's name ("invalid token: expired", "using password: YES", "token: 401"): a
# word of letters (words joined by "-", "_" or "'": "db-pass", a secret's name), a class's name ("next_page_token:
# ListLogEntriesResponse"), one in capitals, or a number of up to three digits (a status). A value holding a digit, a
# symbol or a capital after a small letter inside a word is a secret's. `pass` and `auth` alone are words of prose
# before a colon ("checks pass: 3/3", "may pass: RequestNotSent"): only joined to a name (`DB_PASS: ...`) do they
# name a secret there.
_PROSE_WORD = (r"(?:[A-Za-z][a-z]*(?:[-_'][a-z]+)*|(?:[A-Z][a-z]+)+|[A-Z]+(?:_[A-Z]+)*|\d{1,3})"
               r"(?=[\s.,;:!?)\]}]|$)")
# A run no word of prose is, after a token's or a key's name and a colon: hex of one case, eight characters or more (a
# digest, a key's bytes: `token: deadbeef`), or 24 letters of one case (base64url's or a random token's letters; no
# English word of prose in a log line runs so long). A class's name in CamelCase is no such run.
_KEY_RUN = r"(?:[0-9a-f]{8,}|[0-9A-F]{8,}|[a-z]{24,}|[A-Z]{24,})(?=[\s.,;:!?)\]}]|$)"
# What follows `password:`, `passwd:`, `pwd:`, `passphrase:`, `secret:`, an API or secret key's name, or a name joined to
# `pass` by "_" (`DB_PASS:`, as an environment variable is named; `db-pass:`, as a Secret Manager secret is, apart) and a colon as
# prose, from the lines that write one: MySQL's "(using password: YES)"/"NO" (ER_ACCESS_DENIED_ERROR, "Access denied
# for user '%s'@'%s' (using password: %s)"), a settings dump's nothing-set ("password: none", "null", "empty",
# "not set", "unset", "<nil>" by `_NOT_A_SECRET`), a check's verdict ("api_key: missing", "invalid", "required",
# "expired", "incorrect", "wrong"), a rotation's ("secret: rotated", "password: changed", "set"), a value already
# hidden ("redacted"), a status of up to three digits. Any other word there is taken as the value it names, on the
# safe side: `password: changeme`, `secret: letmein` and `api_key: abcdefabcdef` are credentials, though made of letters.
# A word that says nothing is set (yes, no, none, not, set) is such prose only alone, as a dump or MySQL's "(using
# password: YES)" writes it (`_ALONE`); before another word it begins a passphrase (`password: no pain no gain`). A
# verdict ("expired", "rotated") is prose alone or before a clause's preposition ("changed by admin", "expired at ...",
# `_CLAUSE`); before any other word (`password: rejected flowers bloom`) it is a passphrase's first word.
_ALONE = r"(?=[.,;:!?)\]}]|[ \t]*(?:\r?\n|$)|[ \t]+(?:[(#]|[\w.-]+(?:=|:(?:[ \t]|$))))"
_CLAUSE = (r"[ \t]+(?i:for|by|to|at|on|in|because|due|since|after|while|from|when|during|until)"
           r"(?=[\s.,;:!?)\]}]|$)")
_STRICT_PROSE = (rf"(?i:(?:yes|no|none|null|nil|not|set|unset){_ALONE}"
                 r"|(?:expired|invalid|required|missing|incorrect|empty|wrong|changed|rotated|redacted|failed|denied"
                 rf"|rejected|\d{{1,3}})(?:{_ALONE}|(?={_CLAUSE})))")
# A sentence after such a name and a colon: a driver's or a tool's message whose first word happens to follow the
# name (`password: authentication failed for user "app"`, `password: Access denied for user ...`, `password: password
# has expired`, `password: fe_sendauth: no password supplied`, `secret: permission denied on ...`), not a value. The
# drivers' messages are English sentences of a fixed grammar: PostgreSQL src/backend/libpq/auth.c `auth_failed`
# ("password authentication failed for user \"%s\"", "Peer authentication failed", "Ident ...", "LDAP ...", "RADIUS
# ...", "PAM ...", "certificate ...", "GSSAPI ...", "SSPI ..."), libpq's src/interfaces/libpq/fe-auth.c
# `pg_fe_sendauth` ("fe_sendauth: no password supplied"), the "FATAL:  " libpq puts before a server's error (PostgreSQL
# "Error Message Reporting": the severity, then the message); MySQL's error reference: 1045 ER_ACCESS_DENIED_ERROR
# "Access denied for user '%s'@'%s' (using password: %s)", 1820 ER_MUST_CHANGE_PASSWORD "You must reset your password
# using ALTER USER statement ...", 1862 ER_MUST_CHANGE_PASSWORD_LOGIN "Your password has expired"; SQL Server's 18488
# "The password of the account must be changed." and 18456 "Login failed for user '%.*ls'." (SQL Server "Database
# engine events and errors"); Oracle's "ORA-28001: the password has expired" (Oracle "Database Error Messages").
# After a header of theirs (`_SENTENCE_HEADER`: "FATAL:", "ORA-28001:"), each is one of three forms (`_SENTENCE`):
# - no subject: a verdict that says what is missing or short (`_DRIVER_PREDICATE`: "too short", "not set", "no
#   password supplied", a participle alone or before a clause, "failed for user ..."), read positively: an auxiliary
#   first (`password: must be changed`, `password: is too short`, `password: may the force be with you`,
#   `DB_PASSWORD: do not disturb`: `_VERB_FIRST`), "never" or "no" before a word (`password: never gonna give you
#   up`, `password: no pain no gain`, `password: Never Zq8...`) begins a passphrase, the value;
# - a subject of two to six of the drivers' words (`_SENTENCE_WORD`: "the password of the account", "your password",
#   "peer authentication", "password authentication") and an auxiliary or a participle;
# - one such word alone and a driver's own predicate after a bare noun (`_BARE_PREDICATE`: "Access denied", "Login
#   failed", "password has expired", "You must ..."): `password: password was rejected` and `password: access is
#   wrong` are a value and prose.
# A driver's message in its own frame (`_DRIVER_MESSAGE`) after the name is kept whole too: an application that logs
# `db connect with password: ` before its driver's error writes the driver's words there, and the diagnosis reads
# them (shared/gcp/logging.py redacts each line before shared/diagnosis/log_signals.py classifies it). sqlx's two
# frames are among them ("error returned from database: " and "error communicating with database: ",
# launchbadge/sqlx sqlx-core/src/error.rs): the diagnosis reads a bare missing name only behind the first.
# Any other word there is the value it names, letters only or not, on the safe side: `password: tiger was rejected`,
# `password: LetMeIn was rejected`, `secret: Hunter is wrong`, `password: changeme: no such user` and `password:
# letmein host: 10.0.0.3` are redacted (a driver's word hidden costs less than a password kept). Known limits: a
# password that is one of the drivers' words before another and a predicate (`password: password authentication
# failed`), or before a participle alone (`password: password rejected`), reads as a sentence, and so does a
# passphrase that is a driver's full message (`password: connection refused`, `_FULL_FORM`); a passphrase of such
# words too (a passphrase's own name, `passphrase:`, reads its words as its value).
_SENTENCE_WORD = (r"(?:passwords?|authentication|access|permission|scram|sasl|account|user|login|your|you|the|of"
                  r"|peer|ident|ldap|radius|pam|gssapi|sspi|certificate)[ \t]+")
_SENTENCE_HEADER = r"(?:fe_sendauth|fatal|error|ora-\d{5}):[ \t]+"
_WORD_ENDS = r"(?=[\s.,;:!?)\]}]|$)"
_AUXILIARY = r"(?:is|are|was|were|has|have|had|must|may|might|can|cannot|could|should|will|would|does|did|do)"
# A verb that has a subject before it (an auxiliary, or "shall", in any case): a word before one is that subject.
_FINITE = rf"(?i:{_AUXILIARY}|shall){_WORD_ENDS}"
_PARTICIPLE = r"(?:failed|denied|expired|supplied|required|rejected|refused|changed|mismatched|revoked|disabled|locked)"
# What a driver says of a password after an auxiliary (PostgreSQL's, MySQL's, SQL Server's and Oracle's messages cited
# above, and a validator's "does not match", "is too short", "cannot be empty", "was not accepted"), or after "not" or
# "never" ("not set", "never configured").
_STATE = (rf"(?:{_PARTICIPLE}|[a-z]+ed|too|empty|blank|null|invalid|incorrect|wrong|set|unset|match(?:es)?|contain"
          r"|change|reset|expire)")
# An auxiliary and a state: what a driver or a validator says of a value written before it (`password: tiger was
# rejected`, `password: dragon does not match`), where a spaced value's words end (`_MORE_WORDS`). With no value before
# it (`password: must be changed`, `password: is too short`) it is no driver's form (each driver names its subject, "The
# password of the account must be changed.", "Your password has expired"), and a passphrase may open so: the value.
_AUX_PREDICATE = (rf"{_AUXILIARY}(?:n't)?(?:[ \t]+not)?(?:[ \t]+(?:be|been|have[ \t]+been))?[ \t]+{_STATE}{_WORD_ENDS}")
# With no subject, only a verdict that says what is missing or short is read as a driver's or a validator's words.
_DRIVER_PREDICATE = (r"(?:too[ \t]+(?:short|long|weak|simple|common)|no[ \t]+password[ \t]+(?:supplied|provided|given)"
                     r"|(?:not|never)[ \t]+(?:set|given|found|[a-z]+ed)"
                     rf"|{_PARTICIPLE}(?:{_ALONE}|(?={_CLAUSE}))){_WORD_ENDS}")
_BARE_PREDICATE = rf"(?:{_PARTICIPLE}|has[ \t]+expired|must|cannot){_WORD_ENDS}"
# A driver's message by its frame, its first words as drivers and their runtimes write them:
# - an exception's class before its message: a name ending in Error or Exception, possibly qualified by "." or "::"
#   (Python's `asyncpg.exceptions.InvalidPasswordError: `, Java's `com.microsoft.sqlserver.jdbc.SQLServerException: `,
#   .NET's `Npgsql.NpgsqlException (0x80004005): `, Node's `Error: `, SQLAlchemy's `(psycopg2.OperationalError) `), a
#   class qualified by a package of two names or more (`psycopg.errors.X: `) or by a Ruby module
#   (`PG::ConnectionBad: `), and the frames a trace opens with (Python's "Traceback (most recent call last):", Java's "Caused by:");
# - a severity or an error's number before a colon: libpq's "FATAL:  " (PostgreSQL "Error Message Reporting"),
#   node-postgres' "error: ", go-sql-driver/mysql's "Error 1045 (28000): " (errors.go, MySQLError.Error), the mysql
#   client's "ERROR 2026 (HY000): ", MySQL Connector/Python's "1045 (28000): ", Postgrex's "FATAL 28P01
#   (invalid_password) ", Npgsql's "28P01: " (a SQLSTATE, PostgreSQL "Appendix A. Error Codes"), a Go connector's
#   "Refresh error: ", "error connecting ..."; Oracle's "ORA-01017: ", lib/pq's "pq: ", libpq's "fe_sendauth: ",
#   PHP PDO's "SQLSTATE[HY000] ", node-mysql's "ER_ACCESS_DENIED_ERROR: ", PyMySQL's "(1045, \"";
# - a log's own prefix: go-sql-driver/mysql's "[mysql] " logger, a level in brackets (Elixir's Logger, "[error] "), Go's
#   log package's date and time ("2026/12/01 21:40:12 ", log.LstdFlags), a Cloud SQL Java connector's instance name
#   "[p:r:i] ", ODBC's "[Microsoft]", a HikariCP pool's name "HikariPool-1 - ";
# - a network operation's error (Go's net.OpError: "dial tcp H:P: ", "read tcp ", "write tcp "), and a connection's
#   failure as drivers open it ("connection to server at", "could not connect", "Can't create a connection", "Unable
#   to connect", "server closed the connection", "database H unreachable", "SSL connection error", libpq's hint "Is the
#   server running on that host ...", fe-connect.c).
# A connection's failure as drivers open it in words ("connection to server at", "could not connect", "Can't create a
# connection", "server closed the connection", "error connecting ..."), which a passphrase may open with too
# (`password: connection lost forever`): read as a driver's only in a driver's full form (`_FULL_FORM`).
_PROSE_OPENER = (r"(?i:(?:can't|cannot|could[ \t]+not|couldn't|unable[ \t]+to|failed[ \t]+to)[ \t]+(?:connect|create"
                 r"|reach|open|establish|resolve|translate|receive|send|dial)\b|error[ \t]+\w+ing\b"
                 r"|(?:is[ \t]+the[ \t]+)?(?:connection|database|server|ssl|tls|socket)[ \t]+"
                 r"(?:to|on|running|at|closed|lost|refused|reset"
                 r"|terminated|timed|timeout|error|failed|is|was|has|[\d\"'`/]))")
# A driver's full form, looked at from its first word to its line's end: a driver names what failed (a quoted host
# or name, an IPv4 address, a host's `:port` or `port N`, a SQLSTATE, a path, a parenthesis or bracket, `key=value`,
# or a further cause after ": ", libpq's `connection to server at "H", port 5432 failed: ...`, PyMySQL's `(2003, "Can't connect to MySQL
# server on 'H' (timed out)")`), or ends on the state its connection is in ("Connection refused", "server closed the
# connection unexpectedly", "connection reset by peer", "Connection timed out"). Words that merely open so and end
# elsewhere (`connection lost forever`, `could not connect my heart`) are a passphrase's, and so are a digit or a sign
# as password policies ask for them (`connection lost forever 2024!`, `again #42`): no driver's name of what failed. A contraction's quote
# (`Can't`) is no quote of a name. Known limit: a passphrase ending on such a state (`password: connection refused`)
# is read as the driver's words.
# A character of the same line and pair: not a line's end, written or escaped (`\n` inside a JSON string, as a
# rejected message is kept), nor the ";" that ends a pair (`password: connection lost X; host: ...`), nor an escaped
# quote that closes the JSON string (`\"` before what follows a closing quote, `_CLOSES`): one before a word opens a
# quoted name (`connection to server at \"127.0.0.1\", port 5432 failed`).
_IN_LINE = rf"(?:[^\n;\\]|\\(?![nr]|\"{_CLOSES}))"
_FULL_FORM = (rf"(?={_IN_LINE}*?(?:(?<![A-Za-z])[\"'`]|[\"'`](?![A-Za-z])|[(\[/=]|:(?:[ \t]|$)"
              r"|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])|(?<=[\w\]]):\d{2,5}(?!\w)|(?i:port)[ \t]+\d{2,5}(?!\w)"
              r"|(?<![\w.])(?=[0-9A-Z]{0,4}\d)[0-9A-Z]{5}(?![\w.]))"
              rf"|(?:{_IN_LINE}*?[ \t])?(?i:refused|reset(?:[ \t]+by[ \t]+peer)?|timed[ \t]+out|timeout|unexpectedly"
              r"|closed|lost|expired|failed|failure|exceeded|unreachable|aborted|terminated|broken[ \t]+pipe|eof)"
              r"[.!?]?[ \t]*(?:\r?\n|\\[nr\"]|;|$))")
_DRIVER_MESSAGE = (r"(?:\(?(?:[A-Za-z_][\w$]*(?:\.|::))*[A-Za-z_]*(?:Error|Exception|ERROR|error)"
                   r"(?:[ \t]+\(0x[0-9A-Fa-f]+\))?(?::|\)|::)"
                   r"|(?:[A-Za-z_]\w*\.){2,}[A-Z]\w*:|(?:[A-Z]\w*::)+[A-Z]\w*:"
                   r"|Traceback \(most recent call last\):|Caused by:"
                   r"|(?i:(?:[a-z]+[ \t]+)?(?:error|fatal|panic)(?:[ \t]+\d{3,5})?(?:[ \t]+\([0-9A-Z]{5}\))?:"
                   r"|(?:fatal|error)[ \t]+[0-9A-Z]{5}[ \t]+\(\w+\)|ora-\d{5}:|pq:|fe_sendauth:"
                   r"|error[ \t]+(?:returned[ \t]+from|communicating[ \t]+with)[ \t]+database:"
                   r"|sqlstate(?:\[\w+\]|[ \t]+[0-9A-Z]{5}\b)|er_[a-z_]+:|\d{4}[ \t]+\([0-9A-Z]{5}\):"
                   r"|\(\d{4},[ \t]*[\"']|\[(?:mysql|microsoft|error|warn(?:ing)?|info|debug|fatal|critical|notice)\]"
                   r"|\[[\w.-]+:[\w.-]+:[\w.-]+\]|\d{4}/\d\d/\d\d[ \t]+\d\d:\d\d:\d\d\b"
                   r"|\w*pool-\d+[ \t]+-[ \t]|(?:dial|read|write)[ \t]+(?:tcp|udp|unix|ip)[46]?[ \t])"
                   r"|(?=[0-9A-Z]{5}:)[0-9A-Z]*\d[0-9A-Z]*:"
                   rf"|{_FULL_FORM}{_PROSE_OPENER})")
# A Go error chain's operations before a driver's message, each wrapping the next with ": " (`connect: pq: password
# authentication failed ...`, `dial tcp H:P: connect: connection refused`): the ops Go's net package names in its errors
# (net.OpError's Op, "dial", "read", "write", "listen", "accept"; the system call os.NewSyscallError names, "connect"),
# database/sql's "sql: " and the calls an application wraps one in (`ping`, `open`, `query`), each one word before ":"
# (a word after an op's name, `open sesame: pq: ...`, is a passphrase's). Read only before a driver's message in its
# frame, or before the words a driver opens a connection's failure with (`_PROSE_OPENER`: `connect: failed to connect
# to the database server, retrying in 5s`, the chain naming the failure as a driver's): `password: connect: pq: ...`
# keeps the chain's first word, `password: letmein: pq:` does not keep the password (no op's name).
_GO_CHAIN = (r"(?:(?:dial|read|write|listen|accept|connect|sql|driver|ping|open|opening|query|exec|begin|commit|prepare)"
             r":[ \t]+)+")
_SENTENCE = (rf"(?:(?i:(?:{_SENTENCE_HEADER})*(?:{_DRIVER_PREDICATE}"
             rf"|(?:{_SENTENCE_WORD}){{2,6}}(?:{_AUXILIARY}|{_PARTICIPLE}){_WORD_ENDS}"
             rf"|{_SENTENCE_WORD}{_BARE_PREDICATE}))|(?:{_GO_CHAIN})?{_DRIVER_MESSAGE}|{_GO_CHAIN}{_PROSE_OPENER})")
# A spaced password's further words (`password: correct horse battery`), after a password's or a secret's name and a
# colon: a value written so is a YAML plain scalar, which runs on over its spaces (YAML 1.2 section 7.3.3), so each word
# up to what ends it is the value's, on the safe side: a driver's sentence or message (`password: tiger lion was
# rejected`, `password: tiger dial tcp ...`), the next `name: ` or `name=` pair (`password: letmein host: 10.0.0.3`), a
# colon and a space (which a plain scalar never holds, YAML 1.2 section 7.3.3: `password: changeme: no such user`), a
# quote, a separator or the line's end.
# A value whose first word is a verb (`password: must be changed`, `DB_PASSWORD: do not disturb`) opened as no driver's
# message does (`_DRIVER_PREDICATE`): a passphrase, its words the value's to its line's end or the next pair (`_PHRASE`),
# none of them read as a driver's sentence (`password: is too short`, `password: has expired`).
_VERB_FIRST = rf"(?i:{_AUXILIARY}|be|been){_WORD_ENDS}"
# A value's colon is the value's, unless a space and a driver's message follow it: then it is the error chain's, which
# wraps the driver's error in the value's words (`password=hunter2: pq: ...` keeps ": pq: ...").
_CHAIN_COLON = rf":(?![ \t]+{_SENTENCE})"
_MORE_WORDS = (rf"(?:(?<!:)[ \t]+(?!{_SENTENCE}|(?i:{_AUX_PREDICATE})|[\w.-]+(?:=|:(?:$|[ \t](?![ \t]*{_SENTENCE}))))"
               rf"[^\s&;,'\"{{\\]"
               rf"(?:[^\s&;,'\"\\:]|{_CHAIN_COLON}|[\"'](?!{_CLOSES}))*)*")
# A secret's version as Cloud Run takes it after the secret's name and a colon, no space (`db-pass:latest`, gcloud run
# deploy `--set-secrets`; Secret Manager "Access a secret version": a version is a number or "latest"): no value, when
# the name is a Secret Manager secret's as people write one, lower-case words joined by "-" or "_" (`_SECRET_NAME`):
# `db-pass:latest`, `app_db_password:3`. After any other name (`password:123456`, `PGPASSWORD:424242`,
# `password:latest`) the digits or the word are the password.
_VERSION = (r"(?:(?<=[a-z0-9][-_]pass:)|(?<=[a-z0-9][-_]password:)|(?<=[a-z0-9][-_]passwd:)|(?<=[a-z0-9][-_]pwd:)"
            r"|(?<=[a-z0-9][-_]key:))(?:latest|\d{1,6})" + _VALUE_ENDS)
# The names of keys that are secrets, whatever follows them: a data encryption key (`ENCRYPTION_KEY`, Rails'
# Active Record encryption keys, `_RAILS_KEYS`), Rails' `RAILS_MASTER_KEY`, an HMAC or a signing key (a webhook's or a
# cookie's), a secret key (`AWS_SECRET_KEY`, `DJANGO_SECRET_KEY`), and a service account key's `private_key` and `private_key_id`
# (IAM "Create and delete service account keys": the key file's fields; the id names the key, redacted on the safe
# side).
_KEY_NAMES = (r"(?:(?:encryption|master|hmac|signing|secret|private|access|app)[_-]?key(?:[_-]?(?:id|base))?|"
              + _RAILS_KEYS + ")")
# A Secret Manager secret's name after `secret:` ("secret: db-pass not found"): lower-case words joined by "-" or "_",
# as such names are written (Secret Manager "Create a secret": letters, digits, "-" and "_"). A password spelt so
# (`secret: correct-horse`) is kept with it: a known limit.
_SECRET_NAME = r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+(?=[\s.,;:!?)\]}]|$)"
# A Secret Manager secret's name quoted under the bare name `secret`, as Cloud Run's API writes a revision's secret
# reference (Cloud Run Admin API v2, `SecretKeySelector.secret`: "The name of the secret in Cloud Secret Manager";
# `SecretVolumeSource.secret`; Terraform's `secret_key_ref { secret = "db-pass" }` in a plan):
# `"secretKeyRef": {"secret": "db-pass", "version": "latest"}` names what a person checks, kept, as `secret: db-pass`
# is (`_SECRET_NAME`, with the same known limit). A name joined to another (`client_secret`) reads its quoted value as
# a secret's.
_QUOTED_NAME = r"(?(fbare)(?!\\?[\"'][a-z][a-z0-9]*(?:[-_][a-z0-9]+)+\\?[\"']))"
# A passphrase holds spaces ("correct horse battery staple"): its unquoted value runs to the end of its line, a quote
# (a line inside a JSON string), or the next `name=` or `name: ` pair.
_PHRASE = (r"[^\s&;,'\"{\\](?:[^\n\"\\]*?[^\s\"\\])?"
           r"(?=[ \t]*[&;,]?[ \t]+[\w.-]+(?:=|:[ \t])|[&;,][\w.-]+=|[ \t]*(?:[\\\"\n]|$))")
# A credential after an `Authorization:` header's scheme other than Basic and Bearer (RFC 9110 section 11.4:
# `credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`): a list of auth-params (Digest's `username=...,
# response=...`, AWS Signature V4's `Credential=..., Signature=...`), or a token68 with a credential's sign (a digit, or a
# capital after a small letter: Django REST framework's `Token 9944b0...`, GitHub's `token ghp_...`, Elastic's `ApiKey
# <base64>`), so that prose after the header's name ("authorization: permission denied") is kept.
_AUTH_PARAMS = r"""[\w-]+=(?:"[^"\n]*"|[^\s,"']+)(?:[ \t]*,[ \t]*[\w-]+=(?:"[^"\n]*"|[^\s,"']+))*"""
_TOKEN68 = r"(?=[\w.~+/-]*?(?:\d|[a-z][\w.~+/-]*?[A-Z]))[\w.~+/-]{8,}=*"
# The schemes after which an `Authorization:` header's next word is read as credentials: IANA's "HTTP Authentication
# Scheme Registry" (Basic, Bearer, Digest, HOBA, Mutual, Negotiate, OAuth, SCRAM-SHA-1, SCRAM-SHA-256, vapid), AWS
# Signature V4's `AWS4-HMAC-SHA256` (AWS "Signature Version 4", as Cloud Storage's XML API takes it) and Cloud
# Storage's `GOOG4-HMAC-SHA256` (Cloud Storage "V4 signing process"), Django REST framework's and GitHub's `Token`,
# Elastic's `ApiKey`, Microsoft's `NTLM` (MS-NTHT), in any case (RFC 9110 section 11.1). Any other word after the
# header's name ("authorization=missing user=app", "Authorization: denied code=PERMISSION_DENIED") is prose, and
# what follows it is no credential of its.
_AUTH_SCHEMES = (r"(?i:basic|bearer|digest|hoba|mutual|negotiate|oauth|scram-sha-256|scram-sha-1|vapid"
                 r"|aws4-hmac-sha256|goog4-hmac-sha256|token|apikey|ntlm)(?![\w.+-])")
# A MySQL client in a command's position, where `-pPASSWORD` is its password (MySQL "mysql Client Options": `-p[password]`;
# mysqldump, mysqladmin and MariaDB's clients take it alike): at a line's start, after a shell's `$`, `#`, `%` or `>`
# prompt, `set -x`'s `+`, `;`, `|`, `&&`, `(`, a backquote or a quote (`sh -c 'mysql ...'`), behind `sudo`, `exec`,
# `env`, `VAR=value` or `docker exec ...`/`kubectl exec ... --`. "starting mysql proxy -port=3306" names no client in
# such a place; nor is a Go flag (`-port=3306`, `-pool=4`) or a long option's word (`-private-ip`) ever `-p` and a password.
# The client may be named by a path, absolute or relative (`/usr/bin/mysql`, `./mysql`, `bin/mysqldump`); "mysql's" is
# prose's.
_MYSQL_COMMAND = (r"(?<![^\n$#%>+;|&(`'\"])[ \t]*"
                  r"(?:(?:sudo|exec|env|time|nohup|command)[ \t]+(?:-\S+[ \t]+)*|[A-Z_][A-Z0-9_]*=\S*[ \t]+"
                  r"|(?:docker|podman|kubectl)[ \t]+exec\b[^\n;|&]*?[ \t])*(?:[\w.-]*/)*"
                  r"(?:mysql(?:dump|admin|check|import|show|slap|pump|binlog|sh)?|mariadb(?:-[a-z]+)?)(?![\w.-]|'s\b)")
# A long option named for a secret, whose value is the next argument: a password's, a passphrase's or a token's
# (`--db-password`, `--db-pass`, `--token`, `--db_pwd`), a secret's joined to another word (`--client-secret`,
# `--client_secret`: argparse's and Go flag's names are spelt with "-" or "_" alike; gcloud's bare
# `--secret=NAME` names a Secret Manager secret), or a key named for what it is (`--encryption-key`, `--api-key`,
# `--signing-key`, `--private-key`, whose value as a path is kept). Go's flag package and Python's argparse take the value
# as the next argument or after "="; the "=" form is `secret_field`'s.
_SECRET_OPTION = (r"(?:(?:[\w-]*[-_])?(?:password|passwd|passphrase|token|pass|pwd)"
                  r"|[\w-]+[-_]secret|(?:[\w-]*[-_])?(?:api|secret|encryption|master|hmac|signing|private|access)[-_]?key)")
# After a MySQL client's `-p` and a space, the next argument is a database's name to the client (MySQL "mysql Client
# Options": "there must be no space between -p and the password"; the client then prompts), kept when it is one: a
# word of an unquoted name's characters (MySQL "Schema Object Names": letters, digits, "$", "_") last or before an
# option or a redirection (`mysql -u app -p orders`, `-p orders < dump.sql`). Written otherwise it was meant as the
# password and is redacted: a character no such name holds (`-p Zq8!s3`, `-p 'pa ss'`), or another argument after it
# (`-p hunter2 shop`: the client takes one database). Known limit: `mysql -u app -p hunter2` alone reads as the
# database's name, as the client reads it.
# A MySQL client named anywhere (a person's reason: "ran mysql -u app -p ... to check") whose command names a user
# (`-u`, `--user`): a client's command, not prose naming the client.
_MYSQL_NAMED = (r"(?<![\w./-])(?:mysql(?:dump|admin|check|import|show|slap|pump|binlog|sh)?|mariadb(?:-[a-z]+)?)"
                r"(?![\w.-]|'s\b)(?=[^\n;|&]*?[ \t](?:-u|--user))")
# What separates a container's args, one quoted item from the next: a JSON or a Python list's ",", or a YAML block
# list's next line (`args:\n  - "--db-pass"\n  - "P"`, YAML 1.2 section 8.2.1, its items quoted).
_NEXT_ITEM = r"(?:,|\r?\n[ \t]*-)"
# What a shell's quotes hold (POSIX "Shell Command Language", 2.2 Quoting): in single quotes anything but a single
# quote, which a script writes as `'\''` (close, an escaped quote, open again: `-p'it'\''s'`); in double quotes a
# backslash escapes the next character (`-p"pa\"ss"`).
_SHELL_SQ = r"(?:[^'\n]|'\\'')*"
_SHELL_DQ = r'(?:[^"\\\n]|\\.)*'
# One line of a PEM body, the whole of a text (RFC 7468 section 2; `private_key`), from the text's start: after it only
# blanks and line ends, left as they are (a line printed with its "\n", or "\r\n" by a program writing CRLF, reaches
# an entry so when the runtime does not take the line end off: UNCONFIRMED which do, so both are read).
_PEM_BODY = (r"[ \t]*(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*\d)"
             r"[A-Za-z0-9+/]{64}(?=[ \t\r\n]*\Z)")
# A quoted value's body, as `_CLOSES` reads its end (`secret_field`'s and `env_value`'s alike): in double quotes, escaped
# or not (a line inside a JSON string), any character but a quote that closes, an escaped quote (`"ab\\"cd"`: JSON's
# escape, RFC 8259 section 7) the value's own; in single quotes a backslash escapes the next character and a quote
# followed by a word is the value's (`'it's-Q9x'`, YAML's `'it''s'`).
_DQ_BODY = rf"(?:[^\"\\\n]|\\(?!\")|\\?\"(?!{_CLOSES}))+"
_SQ_BODY = rf"(?:[^'\\\n]|\\.|'(?!{_CLOSES}))+"
# A cookie's `name=value` (RFC 6265 section 4.1.1: a cookie-octet is no space, no DQUOTE, ",", ";" or backslash).
_COOKIE_PAIR = r"""[^\s;,="'\\]+=[^\s;,"'\\\]]*"""
SHAPES: tuple[tuple[str, str], ...] = (
    ("authorization", r"(?P<header>(?i:authorization[\"']?\s*[:=]\s*[\"']?)(?:(?P<authbb>(?i:bearer|basic))\s+"
                      rf"|(?P<authscheme>{_AUTH_SCHEMES}:?[ \t]+)?))"
                      rf"(?(authbb)[\w.~+/-]{{4,}}=*|(?(authscheme)(?:{_AUTH_PARAMS}|{_TOKEN68})"
                      rf"|(?![\w.~+/-]+[ \t]+{re.escape(REDACTED)}){_TOKEN68}))"),
    ("token", r"ya29\.[\w-]+(?:\.[\w-]+)*"),
    ("bearer", r"(?i:(?<=\bbearer))\s+[\w.~+/-]{20,}=*"),
    ("api_key", r"AIza[\w-]{35}"),
    ("jwt", r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    ("url_password", r"(?P<userinfo>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@\"']*:)(?!\d+(?:[\s/?#]|$))"
                     rf"(?!{re.escape(REDACTED)}@)"
                     rf"(?:(?:[^\s/?#@\"'\\]|\\(?![\"'])|{_QUOTE_IN_VALUE})+ ){{0,4}}"
                     rf"(?:[^\s/?#\"'\\]|\\(?![\"'])|{_QUOTE_IN_VALUE})+(?=@)"),
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|[^\"]*)"
                    rf"|\A{_PEM_BODY}"),
    ("rails_block", _RAILS_BLOCK),
    # (the look ahead at a name's first letter spares trying each name at every character: a fourth of the time)
    ("secret_field", rf"(?=[AaDdEeHhKkMmPpSsTt])(?P<field>{_SECRET_WORDS}(?:\s*=>\s*"
                     rf"|(?:\s*=(?!>)\s*|%3[dD]|\\?[\"'\]]\s*(?:=>|[:=](?!>))\s*|:\s*(?=\\?[\"'])){_QUOTED_NAME}"
                     r"|(?:(?<=Password)|(?<=Passwd)|(?<=Secret)|(?<=Token)|(?<=Key)):(?=[^\s/:\"'{}\\\]])"
                     rf"|(?(fstrict):(?=[^\s/:\"'{{}}\\\]])(?!{_STRICT_PROSE}|{_VERSION})|(?!))"
                     r"|(?i:(?<=-api-key)|(?<=-apikey)|(?<=-token)):\s*"
                     r"|(?i:(?<![^_-]pass)(?<![^_-]auth)):[ \t]+(?P<fspaced>)"
                     rf"(?(fstrict)(?!{_STRICT_PROSE}|{_SENTENCE})|(?(fphrase)(?!{_STRICT_PROSE})"
                     rf"|(?(fsecret)(?!{_STRICT_PROSE}|{_SECRET_NAME}|{_SENTENCE})"
                     rf"|(?!{_SENTENCE}|(?!{_KEY_RUN}){_PROSE_WORD}(?![ \t]+{_FINITE}))))))"
                     r"(?:[bBrRuU]{1,2}(?=\\?[\"']))?(?:(?P<fdq>\\?\")|(?P<fsq>')|(?P<fbrace>\{)"
                     r"|(?(fspaced)(?P<fblock>[|>][-+1-9]{0,2}[ \t]*\r?\n(?P<findent>[ \t]+))|(?!)))?)"
                     rf"{_NOT_A_SECRET}(?:(?(fspaced)(?=(?P<fverb>{_VERB_FIRST}))|(?!))|)(?(fdq){_DQ_BODY}(?:(?P<farrow>\"[ \t]+->[ \t]+\"){_DQ_BODY})?"
                     rf"|(?(fsq){_SQ_BODY}|"
                     r"(?(fbrace)[^}\n]+|(?(fblock)[^\n]+(?:\n(?P=findent)[^\n]+)*"
                     r"|(?(fphrase)" + _PHRASE + r"|(?(fverb)" + _PHRASE + r"|(?![bBrRuU]{1,2}[\"'])[^\s&;,'\"{\\]"
                     r"(?:[^\s&;,'\":]|" + _CHAIN_COLON + r"|[\"'](?!" + _CLOSES + r"))*"
                     r"(?(fspaced)(?(fstrict)" + _MORE_WORDS + r"|(?(fsecret)" + _MORE_WORDS + r")))))))))"),
    ("env_value", r"(?P<envname>\bname\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?[\w.-]*?"
                  r"(?i:password|passwd|secret|token|api[_-]?key|pass|" + _KEY_NAMES + r")\\?[\"']?[ \t]*,?\s*(?:-[ \t]+)?"
                  r"\\?[\"']?value\\?[\"']?[ \t]*[:=][ \t]*(?:(?P<envdq>\\?\")|(?P<envsq>'))?)"
                  rf"{_NOT_A_SECRET}(?(envdq){_DQ_BODY}|(?(envsq){_SQ_BODY}"
                  rf"|[^\s,}}\"'\\](?:[^\s,}}\"'\\]|[\"'](?!{_CLOSES}))*))"),
    ("statement_password", r"(?P<statement>(?i:\bidentified(?:\s+with\s+\w+)?\s+by(?:\s+password)?"
                           r"|\bset\s+password\b[^=\n]*=|\bpassword)\s+')"
                           rf"(?!{re.escape(REDACTED)}')(?:[^'\\\n]|\\.|'')+(?=')"),
    ("host_userinfo", host_userinfo_pattern(escaped_quote=True, redacted_tail=False)),
    ("cookie", r"(?P<cookie>(?<![\w-])(?i:(?P<setcookie>set-)?cookie)[\"']?\s*[:=]\s*[\"'\[]?)"
               rf"(?(setcookie){_COOKIE_PAIR}|{_COOKIE_PAIR}(?:;[ \t]*{_COOKIE_PAIR})*)"),
    ("option_password", rf"(?P<option>(?<![\w-])(?:(?:{_MYSQL_COMMAND}|{_MYSQL_NAMED})[^\n;|&]*?[ \t]-p(?=[^\s-])"
                        r"(?![a-z][a-z-]*=|[a-z]+-[a-z-]+(?![^\s'\"]))"
                        r"|curl\b[^\n;|&]*?[ \t]['\"]?(?:-[0-9A-Za-z#:]*?[uU][ \t]*|--(?:proxy-)?user(?:[ \t]+|=))"
                        r"(?:(?P<optsq>')[^\s:']*:|(?P<optdq>\")[^\s:\"]*:|[^\s:'\"]*:)"
                        r"|redis-cli\b[^\n;|&]*?[ \t](?:-a|--pass)[ \t]+"
                        rf"|(?:{_MYSQL_COMMAND}|{_MYSQL_NAMED})[^\n;|&]*?[ \t]-p[ \t]+(?=[^\s-])(?![<>|;&#`])"
                        r"(?=\S*[^\s\w$]|\S+[ \t]+[^\s<>|;&#-])"
                        r"|(?:docker|podman)[ \t]+login\b[^\n;|&]*?[ \t]-p[ \t]+|sshpass[ \t]+-p[ \t]*"
                        r"|sqlcmd\b[^\n;|&]*?[ \t]-P[ \t]*(?=[^\s-])"
                        rf"|--(?!no-){_SECRET_OPTION}(?:[ \t]+(?!-)|(?P<optjson>\\?\"[ \t]*{_NEXT_ITEM}[ \t]*\\?\")"
                        rf"|(?P<optpy>'[ \t]*{_NEXT_ITEM}[ \t]*')|\r?\n[ \t]*-[ \t]+(?!-))))"
                        rf"{_NOT_A_SECRET}(?(optsq){_SHELL_SQ}|(?(optdq){_SHELL_DQ}"
                        r"|(?(optjson)(?:[^\"\\\n]|\\(?!\"))+|(?(optpy)(?:[^'\\\n]|\\.)+"
                        rf"|(?:'{_SHELL_SQ}'|\"{_SHELL_DQ}\"|[^\s'\"]+)))))"),
    ("dsn_password", r"(?P<dsn>(?<![^\s\"'=(,\[])[\w.$+-]*:(?!\d+@)|(?P<oracle>\bjdbc:oracle:\w+:[\w.$#-]*/))"
                     rf"(?!{re.escape(REDACTED)}@)(?(oracle)[^\s\"'@/]+(?=@)"
                     r"|[^\s\"']+?(?=@(?:tcp[46]?|unix|udp|cloudsql[\w-]*)\())"),
    ("webhook", r"(?P<hook>\bhttps?://(?:[^\s/\"'?#]*(?i:hooks\.|webhook)[^\s/\"'?#]*/"
                r"|[^\s/\"'?#]+/(?:[^\s\"'?#/]+/)*?(?i:webhooks?|webhookb2|hooks)/))"
                r"(?=[^\s\"'?#]*?[A-Za-z0-9]{16})(?=[^\s\"'?#]*?\d)[^\s\"'?#]+"),
    ("secret_payload", r"(?P<payload>" + _NAME_STARTS + r"payload\\?[\"']?[ \t]*[:=]?[ \t]*(?:\{|\w*\()(?:\s|\\n)*\\?[\"']?data\\?[\"']?"
                       r"\s*[:=]\s*)(?:[bB]?\\\"(?:[^\"\\\n]|\\(?!\"))*\\\"|[bB]?\"(?:[^\"\\\n]|\\.)*\""
                       r"|[bB]?'(?:[^'\\\n]|\\.)*')"),
    ("key_pair", r"(?P<keyid>\b(?:" + _KEY_ID + r")(?![A-Za-z0-9])[\s,:;|=\"']{1,6})"
                 r"(?![0-9a-f]{40})[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
    ("vendor_token", r"(?<![\w/])(?:1//0[\w-]{20,}|4/0A[\w-]{20,}|GOCSPX-[\w-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,}"
                     r"|xox[abposre]-[\w-]{10,}|xapp-\d-[\w-]{10,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|glpat-[\w-]{20,})"),
)
CREDENTIAL = re.compile("|".join(pattern for _, pattern in SHAPES), re.DOTALL)

# What each shape needs somewhere in a text (lower-cased) for it to match: a text with none of them holds
# no credential, found in one pass of an Aho-Corasick automaton over every shape's words instead of the whole
# expression's (12 us for a 250-character log line), on every log line the diagnosis reads. A text holding some is
# read by the expression of only the shapes whose words it holds (compiled once per such set): "token" or "key" in a
# line costs the `secret_field` expression alone, not every shape's at every character.
# A long option's name for a secret (`_SECRET_OPTION`), each joined to the word before it; what follows it (a space, a
# quote of a container's `args` list, a YAML list's line end) is looked at by `_LONG_OPTION` (a word per follower
# made the automaton twice as slow on every line).
_LONG_OPTION_NEEDLES = ("-password", "-passwd", "-passphrase", "-token", "-pass", "-pwd", "-secret", "-key",
                        "_password", "_passwd", "_passphrase", "_token", "_pass", "_pwd", "_secret", "_key")
_NEEDLES: dict[str, tuple[str, ...]] = {
    "authorization": ("authorization",), "token": ("ya29.",), "bearer": ("bearer",), "api_key": ("aiza",),
    "jwt": ("eyj",), "url_password": ("://",), "private_key": ("private key",), "rails_block": ("active_record_encryption",),
    # _FIELD_NEEDLE's, searched for only in a text holding one of these
    "secret_field": ("auth", "pass", "pwd", "secret", "token", "key", "salt", "-signature", "?signature", "&signature"),
    "env_value": ("value",),
    "statement_password": ("identified", "password"),
    "host_userinfo": ("host name", "lookup ", "getaddrinfo", "unknownhostexception", "mysql server"),
    "cookie": ("cookie",),
    "option_password": ("mysql", "mariadb", "redis-cli", "curl", "docker login", "podman login", "sshpass", "sqlcmd",
                        *_LONG_OPTION_NEEDLES),
    "dsn_password": ("@tcp", "@unix", "@udp", "@cloudsql", "jdbc:oracle:"),
    "webhook": ("hook",),
    "secret_payload": ("payload",),
    "key_pair": ("akia", "asia", "goog"),
    "vendor_token": ("xapp-", "1//0", "4/0a", "gocspx-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xoxa-", "xoxb-",
                     "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-", "sk_live_", "sk_test_", "rk_live_", "rk_test_",
                     "glpat-"),
}
# `secret_field`'s: a secret's name and what may follow it (`=`, a key's closing quote, escaped or not, `:`), in one
# search of the lower-cased text (a third of the time of 54 substring searches).
_FIELD_NEEDLE = re.compile(r"(?=[aprkst?&-])(?:pass(?:wd|word|phrase)?|pwd|secret|token|keys?(?:[_-]?(?:base|id))?"
                           r"|auth(?:[_-]?string)?|salt|[-?&]signature)(?:\s*=|%3d|['\"\\:\]])")
# `option_password`'s, by the client its needle names: an option that client takes a password by, in the text as
# written (options are case-sensitive): a MySQL client's `-pX`, curl's `-u`/`-U` alone or last of a group of short
# options (`-sSfu`) or `--user`/`--proxy-user`, redis-cli's `-a`/`--pass`, docker's or podman's `login -p`. A line naming
# curl, mysql or redis-cli without one (most: `curl -sS -X POST ...`, "Can't connect to MySQL server") is not read by
# that expression, whose alternatives cost more than the rest of a URL's line at every character
# (bench/redaction_lines.py). The other needles (sshpass, a long option's name) are that option's own words.
_MYSQL_P = re.compile(r"[ \t]-p(?:[^\s-]|[ \t]+[^\s-])")
_OPTION_NEEDLES: dict[str, re.Pattern[str]] = {
    "mysql": _MYSQL_P, "mariadb": _MYSQL_P, "docker login": re.compile(r"[ \t]-p[ \t]"),
    "curl": re.compile(r"[ \t]['\"]?-(?:[0-9A-Za-z#:]*[uU]|-(?:proxy-)?user)"),
    "redis-cli": re.compile(r"[ \t](?:-a|--pass)[ \t]")}
_OPTION_NEEDLES["podman login"] = _OPTION_NEEDLES["docker login"]
# A long option's needle (`-key`: a header's `x-api-key`, an `idempotency-key` hold one too) is an option's only as an
# option's name: after "--", and before what follows an option (`_SECRET_OPTION`'s joints).
_LONG_OPTION = re.compile(r"(?<![\w-])--(?!no-)[\w-]*(?:pass(?:word|wd|phrase)?|pwd|token|secret|key)"
                          r"(?:[ \t]|\\?[\"'][ \t]*(?:,|\r?\n)|\r?\n)")
_OPTION_NEEDLES.update(dict.fromkeys(_LONG_OPTION_NEEDLES, _LONG_OPTION))
# `key_pair`'s needles are words of prose and of names too (`asia-northeast1`, `googleapis.com`): an access key's ID,
# in capitals, is looked for as written before the shape's expression is read, its prefix first (a substring's search
# costs a tenth of the expression's, bench/redaction_lines.py).
_KEY_ID_PREFIXES = ("ASIA", "AKIA", "GOOG")
_KEY_ID_SEARCH = re.compile(_KEY_ID)
# A text that is one line of a PEM body alone (`private_key`'s second form), which holds none of the shapes' words, and
# the longest such text read (its 64 characters and up to 8 of an indent, blanks and a line's end).
_PEM_LINE = re.compile(_PEM_BODY)
_PEM_LINE_MAX = 72
_WORDS = sorted({needle for needles in _NEEDLES.values() for needle in needles})
# Each word's shapes, in SHAPES's order (which decides between two matching at one place).
_SHAPES_OF = [tuple(name for name, _ in SHAPES if word in _NEEDLES[name]) for word in _WORDS]
_SEARCH = ahocorasick_rs.AhoCorasick(_WORDS, matchkind=ahocorasick_rs.MatchKind.Standard)
_ORDER = {name: index for index, (name, _) in enumerate(SHAPES)}
_PATTERNS = dict(SHAPES)


@functools.lru_cache(maxsize=None)
def _expression(names: tuple[str, ...]) -> re.Pattern[str]:
    """The shapes named, in SHAPES's order (which decides between two matching at one place), as one expression."""
    return re.compile("|".join(_PATTERNS[name] for name in names), re.DOTALL)


def redacted(text: str, *, reads: Callable[[str], Hashable] | None = None) -> str:
    """`text` with every credential it holds replaced by REDACTED (what names it, a header or a URL's user, kept).
    `reads`: what a reader of the text reads in it (the diagnosis's signals, shared/gcp/logging.py): a value after a
    secret's name whose redaction would change that reading holds the reader's signal, and is kept from the first word
    whose redaction changes it, the words before redacted (`_read_as_signal`, `_signal_kept`)."""
    expression = _expression_for(text)
    if expression is None:
        return text
    return expression.sub(_redaction if reads is None else functools.partial(_redaction, reads=reads), text)


def redactions(text: str, *, pem_line: bool = True) -> Iterator[tuple[int, int, str]]:
    """What `redacted(text)` replaces, in order and found lazily: each credential's start and end in `text` and what
    stands for it. The matches are those of `redacted` (one expression, searched over the whole text, so a credential
    is always found whole, wherever a reader stops), for a reader that keeps only the start of a long text
    (shared/alerts/received.py): redacting all of it to keep its first megabyte built every replacement of a 7 MB
    text of credentials (bench/rejected_naming.py). `pem_line=False`: a text that is a PEM body's line alone is not
    read as one (a binary message's own base64 form, which is no line a program printed: shared/alerts/received.py)."""
    expression = _expression_for(text, pem_line=pem_line)
    for match in expression.finditer(text) if expression is not None else ():
        yield match.start(), match.end(), _redaction(match)


# A long text's shapes' words are searched a slice at a time: the automaton answers with every place a word is found,
# a list as long as the text is dense with them (a 7 MB message of passwords: millions). The slices overlap by the
# longest word, so that none is missed where two meet.
_SLICE = 1 << 20
_OVERLAP = max(map(len, _WORDS)) - 1


def _expression_for(text: str, *, pem_line: bool = True) -> re.Pattern[str] | None:
    """The expression of the shapes whose words `text` holds (`_NEEDLES`); None when it holds none. `pem_line`: whether
    a text that is a PEM body's line alone is read as one (no shape's words are in such a text, "private key" holding a
    space, so without it the line is read by no shape)."""
    # A PEM body's line may hold any shape's word; its length is looked at first (a call of the expression costs more).
    if pem_line and 64 <= len(text) <= _PEM_LINE_MAX and len(text.strip()) == 64 and _PEM_LINE.match(text):
        return _expression(("private_key",))
    lowered = text.lower()
    try:
        found = (_SEARCH.find_matches_as_indexes(lowered, overlapping=True) if len(lowered) <= _SLICE
                 else _sliced(lowered))
    except UnicodeEncodeError:   # a lone surrogate (JSON's "\ud800" decoded), which the automaton cannot encode
        found = [(index, 0, 0) for index, word in enumerate(_WORDS) if word in lowered]
    if not found:   # most lines: no shape's words at all
        return None
    names = {name for index, _, _ in found for name in _SHAPES_OF[index]}
    if "secret_field" in names and not _FIELD_NEEDLE.search(lowered):
        names.discard("secret_field")
    if "key_pair" in names and not (any(prefix in text for prefix in _KEY_ID_PREFIXES) and _KEY_ID_SEARCH.search(text)):
        names.discard("key_pair")
    if "option_password" in names and not _options_read(text, found):
        names.discard("option_password")
    return _expression(tuple(sorted(names, key=_ORDER.__getitem__))) if names else None


def _sliced(lowered: str) -> list[tuple[int, int, int]]:
    """`_SEARCH`'s answer for a long text, as its words' indexes (each once, their places 0), a slice at a time."""
    found: set[int] = set()
    for start in range(0, len(lowered), _SLICE):
        found.update(index for index, _, _ in
                     _SEARCH.find_matches_as_indexes(lowered[start:start + _SLICE + _OVERLAP], overlapping=True))
    return [(index, 0, 0) for index in sorted(found)]


def _options_read(text: str, found: list[tuple[int, int, int]]) -> bool:
    """Whether a client `option_password`'s needles found takes a password by an option the text holds."""
    for index, _, _ in found:
        word = _WORDS[index]
        if word in _LONG_OPTION_NEEDLES and "--" not in text:   # a header's or a route's `-key`, `-token`: no option
            continue
        if "option_password" in _SHAPES_OF[index] and (word not in _OPTION_NEEDLES or _OPTION_NEEDLES[word].search(text)):
            return True
    return False


def _read_as_signal(match: re.Match[str], reads: Callable[[str], Hashable]) -> bool:
    """Whether redacting the value after a secret's name (`secret_field`) changes what `reads` reads in the text: a
    text the diagnosis reads as a database's or a connection's signal is never eaten as a passphrase, whatever form a
    driver gives it (no quote, digit or cause: MySqlConnector's `password: Unable to connect to any of the specified
    MySQL hosts.`, Prisma's P1017 "Server has closed the connection.", words a signal's pattern reads before its
    anchor: "Cloud SQL IAM service account authentication failed"). A password before a driver's message
    (`password: hunter2 dial tcp ...: connection refused`) changes nothing read, and is redacted. Known limit: a
    passphrase that is itself a signal's words (`password: server refused TLS connection`) is kept, as the diagnosis
    reads it."""
    text, start = match.string, match.start() + len(match.group("field"))
    return reads(text) != reads(text[:start] + REDACTED + text[match.end():])


def _signal_kept(match: re.Match[str], reads: Callable[[str], Hashable]) -> str:
    """A secret field read as a signal (`_read_as_signal`), with the leading words of its value that are no part of
    what `reads` reads redacted: a value runs over several words, so `password: hunter2 Too many connections` holds the
    password and the signal in one match, and keeping it whole kept the password. The value's leading words are
    redacted one more at a time while what is read stays the same; the first word whose redaction changes it starts
    what is kept (a passphrase of several words, `correct horse battery`, is redacted whole). The whole value is kept
    only when redacting even its first word changes what is read (a value that is a signal's words alone)."""
    text, field = match.string, match.group("field")
    start, end = match.start() + len(field), match.end()
    read, cut = reads(text), None
    for word in re.finditer(r"\S+", text[start:end]):
        if reads(text[:start] + REDACTED + text[start + word.end():]) != read:
            break
        cut = start + word.end()
    return match.group() if cut is None else field + REDACTED + text[cut:end]


def _redaction(match: re.Match[str], reads: Callable[[str], Hashable] | None = None) -> str:
    groups = match.groupdict()   # the groups of the shapes in the expression that matched
    if reads is not None and groups.get("field") and _read_as_signal(match, reads):
        return _signal_kept(match, reads)
    if groups.get("hostname"):   # the host after the last "@" is kept, as a URL's is
        return groups["hostname"] + REDACTED + "@"
    kept = (groups.get("header") or groups.get("userinfo") or groups.get("field") or groups.get("envname")
            or groups.get("statement")
            or groups.get("cookie") or groups.get("option") or groups.get("dsn") or groups.get("hook")
            or groups.get("payload") or groups.get("keyid"))
    if groups.get("railsblock"):   # the block's other keys, between its name and its primary key, by their own names
        return redacted(groups["railsblock"]) + REDACTED
    if groups.get("farrow"):   # Terraform's change of a value: both sides redacted, the change kept
        return kept + REDACTED + groups["farrow"] + REDACTED
    if kept:
        return kept + REDACTED
    return (" " if match.group().startswith((" ", "\t")) else "") + REDACTED
