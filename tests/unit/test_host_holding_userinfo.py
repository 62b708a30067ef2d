"""A host name looked up that holds an "@": a connection URL's password with an unescaped "@", cut by the URL's
parser at its first "@" and the tail read as the host (SQLAlchemy's make_url, libpq's URI parsing). No host name
holds one (RFC 3986 section 3.2.2), so the part before the last "@" is a credential's: redacted wherever Runwarden
quotes the line (shared/redaction.py `host_userinfo`), and the person is sent to the URL's value, not to DNS
(log_signals.userinfo_in_host, database_unreachable._refusal_advice). Pure."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import userinfo_in_host
from shared.diagnosis.signatures import Signature
from shared.redaction import REDACTED, redacted

from tests.unit.test_database_refusals import NO_SUCH_HOST, OLD, quiet, serving
from tests.unit.builders import Evidence

S = DiagnosisSettings()

# (a failed lookup's line naming a password's tail as the host, the tail, the host that must stay)
LINES = {
    "libpq via SQLAlchemy": ('sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not translate host '
                             'name "wX9kq2@10.40.0.3" to address: Name or service not known', "wX9kq2", "@10.40.0.3"),
    "libpq, two @ in the password": ('psycopg2.OperationalError: could not translate host name "b9@c7Q@db.internal" '
                                     'to address: Name or service not known', "b9@c7Q", "@db.internal"),
    "Go's resolver": ("dial tcp: lookup Zk3@orders-db.internal on 169.254.169.254:53: no such host", "Zk3",
                      "@orders-db.internal"),
    "Node's getaddrinfo": ("Error: getaddrinfo ENOTFOUND pw7T@10.40.0.3", "pw7T", "@10.40.0.3"),
    "Java's UnknownHostException": ("java.net.UnknownHostException: hJ2k@db.internal: Name or service not known",
                                    "hJ2k", "@db.internal"),
    "MySQL's 2005": ("(2005, \"Unknown MySQL server host 'q1w2@10.30.0.5' (-2)\")", "q1w2", "@10.30.0.5"),
    # libpq's URI parser ends a host only at ":", "/", "?" or ",": a quote of the other kind or a space reaches it.
    "libpq, a tail holding an apostrophe": ('could not translate host name "s3cr\'et@10.40.0.3" to address: Name or '
                                            'service not known', "s3cr'et", "@10.40.0.3"),
    "libpq, a tail holding a space": ('could not translate host name "pa ss@10.40.0.3" to address: Name or service not '
                                      'known', "pa ss", "@10.40.0.3"),
    "MySQL's 2005, a tail holding a double quote": ("Unknown MySQL server host 'ta\"il@10.0.0.3' (-2)", 'ta"il',
                                                    "@10.0.0.3"),
    "PyMySQL's 2003": ("pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on 'r4t@10.30.0.5' "
                       "([Errno -2] Name or service not known)\")", "r4t", "@10.30.0.5"),
    # the tail holding the very quote around it: a quote followed by a word closes nothing
    "libpq, a tail holding a double quote": ('could not translate host name "s3cr"et@10.40.0.3" to address: Name or '
                                             'service not known', 's3cr"et', "@10.40.0.3"),
    "MySQL's 2005, a tail holding an apostrophe": ("Unknown MySQL server host 'it'sQ9@10.30.0.5' (-2)", "it'sQ9",
                                                   "@10.30.0.5"),
    "Go's resolver, a tail holding a quote": ('dial tcp: lookup s3cr"et@orders-db.internal on 169.254.169.254:53: no '
                                              'such host', 's3cr"et', "@orders-db.internal"),
}
# Lines whose "@" is no host's, or whose host holds none: left as they are, and not read as a URL's password.
KEPT = ['could not translate host name "orders-db.internal" to address: Name or service not known',
        'FATAL: Cloud SQL IAM service account authentication failed for user "orders@shop.iam"',
        "lookup orders-db.internal on 169.254.169.254:53: no such host",
        "a failed lookup for alice@example.com", NO_SUCH_HOST,
        # an unquoted host ends at a quote: the JSON line's next field holds an "@" of its own
        '{"level":"error","msg":"getaddrinfo ENOTFOUND db.internal","user":"api@shop-prod.iam.gserviceaccount.com"}']


@pytest.mark.parametrize("text, tail, host", LINES.values(), ids=LINES.keys())
def test_a_passwords_tail_read_as_a_host_is_redacted_and_its_host_kept(text, tail, host):
    out = redacted(text)
    assert tail not in out and REDACTED + host in out, out
    assert userinfo_in_host(text) and userinfo_in_host(out)


@pytest.mark.parametrize("text", KEPT)
def test_a_host_with_no_userinfo_is_kept_and_not_read_as_one(text):
    assert redacted(text) == text
    assert not userinfo_in_host(text)


def _lookups(text: str):
    return diagnose(quiet(serving(Evidence())).log(-5, text, OLD, count=20).bundle(), S)


# The lines database_unreachable reads as the database's host not found (docs/signatures.md, "Database connection
# errors as the client stacks write them"): the parsers that cut a URL at its first "@" are Python's (SQLAlchemy's
# make_url) and libpq's; Go's net/url and the WHATWG URL Node uses split at the last one.
READ = ["libpq via SQLAlchemy", "libpq, two @ in the password", "MySQL's 2005", "PyMySQL's 2003"]


@pytest.mark.parametrize("text", [LINES[name][0] for name in READ], ids=READ)
def test_the_person_is_sent_to_the_urls_value_not_to_dns(text):
    result = _lookups(text)
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert "not percent-encoded (%40)" in result.recommendation, result.recommendation
    assert "DNS record of the database's host name" not in result.recommendation


def test_a_host_name_with_no_userinfo_still_sends_the_person_to_dns():
    result = _lookups(NO_SUCH_HOST)
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert "DNS record of the database's host name" in result.recommendation
    assert "percent-encoded" not in result.recommendation


@pytest.mark.parametrize("text", [LINES[name][0] for name in LINES], ids=list(LINES))
def test_a_redacted_line_holds_no_credential_shape_any_more(text):
    """Redacted once, a line is redacted: the shapes find nothing in it (the end-to-end scan reads every log and outcome
    for them), and redacting it again changes nothing; REDACTED holds a space, which a quoted tail may hold too."""
    from shared.redaction import CREDENTIAL

    out = redacted(text)
    assert CREDENTIAL.search(out) is None, out
    assert redacted(out) == out


# One line per client's words in shared/redaction.py LOOKUP_WORDS (a host holding a password's tail), as the client writes
# it; a row added to the table without a line here fails, and so does a reader that misses one.
LOOKUP_LINES = ['could not translate host name "tA1@10.40.0.3" to address', "Unknown MySQL server host 'tA1@10.30.0.5' (-2)",
                "Can't connect to MySQL server on 'tA1@10.30.0.5' ([Errno -2])", "lookup tA1@db.internal on 10.0.0.2:53",
                "getaddrinfo EAI_AGAIN tA1@db.internal", "java.net.UnknownHostException: tA1@db.internal"]


def test_both_readers_of_a_lookups_host_are_built_from_one_table():
    """Redaction (`host_userinfo`) and the advice (log_signals.userinfo_in_host) read the same clients' words: each is
    built from LOOKUP_WORDS, and each line of a client in the table is read by both, the line redacted or not."""
    import re

    from shared.diagnosis import log_signals
    from shared.redaction import CREDENTIAL, LOOKUP_WORDS, host_userinfo_pattern

    assert host_userinfo_pattern(escaped_quote=True, redacted_tail=False) in CREDENTIAL.pattern
    assert log_signals._USERINFO_IN_HOST.pattern == host_userinfo_pattern(escaped_quote=False, redacted_tail=True)
    for words, _ in LOOKUP_WORDS:
        lines = [line for line in LOOKUP_LINES if re.search(words, line, re.IGNORECASE)]
        assert lines, f"no line of a client for {words!r}"
        for line in lines:
            assert "tA1" not in redacted(line) and userinfo_in_host(line) and userinfo_in_host(redacted(line)), line
