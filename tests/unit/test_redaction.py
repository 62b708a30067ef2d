"""shared/redaction.py (`redacted`, `SHAPES`, also named in shared/outcomes.py): every credential shape redacted, what names it kept, prose left alone. Pure."""
from __future__ import annotations

import pytest

from shared.outcomes import REDACTED, SHAPES, redacted

# (text, what must be gone, what must remain); each shape in more than one wording.
ROWS = [
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", "dXNlcjpwYXNz", f"Authorization: Basic {REDACTED}' x"),
    ("AUTHORIZATION:BEARER abcd1234efgh", "abcd1234efgh", f"AUTHORIZATION:BEARER {REDACTED}"),
    ("authorization: bearer tok.en-value", "tok.en-value", f"authorization: bearer {REDACTED}"),
    ("AuThOrIzAtIoN: bAsIc Zm9vOmJhcg==", "Zm9vOmJhcg", f"AuThOrIzAtIoN: bAsIc {REDACTED}"),
    ("token ya29.A0ARrdaM-abc_DEF", "ya29.A0ARrdaM", f"token {REDACTED}"),
    ("Bearer 0123456789abcdef0123", "0123456789abcdef0123", f"Bearer {REDACTED}"),
    ("key=AIzaSyD-0123456789abcdefghijklmnopqrstu&x=1", "AIzaSyD", f"key={REDACTED}&x=1"),
    ("postgresql://app:PW-9x@10.0.0.3/orders", "PW-9x", f"postgresql://app:{REDACTED}@10.0.0.3/orders"),
    ('dsn "mysql+pymysql://root:t0p@db:3306/x" refused', "t0p", f'mysql+pymysql://root:{REDACTED}@db:3306/x"'),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after", "MIIEow", f"{REDACTED} after"),
    ('could not translate host name "wX9k@10.40.0.3" to address', "wX9k", f'host name "{REDACTED}@10.40.0.3"'),
    ("dial tcp: lookup Zk3@db.internal on 169.254.169.254:53: no such host", "Zk3", f"lookup {REDACTED}@db.internal"),
    ('{"doc": "could not translate host name \\"pQ7@db.internal\\" to address"}', "pQ7",
     f'host name \\"{REDACTED}@db.internal'),
]
# A bearer token outside any header, after the word "bearer" in any case (RFC 6750 section 2.1: the
# scheme's name is case-insensitive, RFC 9110 section 11.1): whatever the word's case, whitespace or what
# the token is made of, at least 20 characters of a token (RFC 6750's b64token) with no space.
BEARER_ROWS = [
    ("bEaReR AbCdEf0123456789ghij sent", "AbCdEf0123456789ghij", f"bEaReR {REDACTED} sent"),
    ("BEARER 1/fFAGRNJru1FTz70BzhT3Zg_x-y.z", "1/fFAGRNJru1FTz70BzhT3Zg", f"BEARER {REDACTED}"),
    ("token_type=bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJhbGciOiJSUzI1NiJ9",
     f"token_type=bearer {REDACTED}"),
    ("bearer\tabcdefghijklmnopqrstuvwxyz0== then", "abcdefghijklmnopqrstuvwxyz0", f"bearer {REDACTED} then"),
    ('{"header": "x-bearer Zm9vYmFyYmF6cXV4cXV1eDEyMzQ="}', "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ", f"x-bearer {REDACTED}\""),
]
ROWS += BEARER_ROWS
# Credentials as the libraries, drivers and tools that write them into a log line or an error do, one row each with
# its source (each shape shared/redaction.py `SHAPES` names it after): the secret gone, what a person needs (the
# host, the user, the database, the name of what held it) kept.
HUNTED = {
    # http.client's debuglevel echoes a request's headers (Lib/http/client.py `send`), as google-auth's transport sent it
    "a ya29 token in a client's debug echo": (
        "send: b'GET /v2/projects/p/locations/us-central1/services/orders HTTP/1.1\\r\\nHost: run.googleapis.com\\r\\n"
        "Authorization: Bearer ya29.c.c0ASRK0GZ9x-Tok_en1.qWeR7-tY\\r\\n'", "qWeR7-tY",
        "Host: run.googleapis.com\\r\\nAuthorization: Bearer " + REDACTED),
    # a service account's access token, as google-auth returns it: more dotted parts after "ya29.c"
    "a service account's dotted ya29 token": ("refreshed credentials: token=ya29.c.b0AXv0zTPq1.Zy-2xW_3 expiry=3599",
                                              "b0AXv0zTPq1", "expiry=3599"),
    # a service account key's JSON in an environment dump (`env`; the key file's `private_key`, IAM "Create and delete
    # service account keys"), its newlines escaped inside the JSON string
    "a service account key in an env dump": (
        'GOOGLE_CREDENTIALS={"type": "service_account", "project_id": "shop-prod", "private_key": '
        '"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n", '
        '"client_email": "orders@shop-prod.iam.gserviceaccount.com"}', "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        '"client_email": "orders@shop-prod.iam.gserviceaccount.com"'),
    # pgjdbc "Connecting to the Database": jdbc:postgresql://localhost/test?user=fred&password=secret&ssl=true
    "a JDBC URL's password parameter": (
        "org.postgresql.util.PSQLException: Connection to 10.40.0.3:5432 refused for "
        "jdbc:postgresql://10.40.0.3:5432/orders?user=app&password=Pq7s3cret&ssl=true", "Pq7s3cret",
        "jdbc:postgresql://10.40.0.3:5432/orders?user=app&password=" + REDACTED + "&ssl=true"),
    # Microsoft "Connection string keywords" (ODBC Driver for SQL Server): Uid and Pwd, a value in braces when it
    # holds ";"
    "an ODBC connection string's Pwd": (
        "pyodbc.OperationalError: ('08001', 'login timeout') connecting with Driver={ODBC Driver 18 for SQL Server};"
        "Server=tcp:10.40.0.9,1433;Database=orders;Uid=app;Pwd={Oq8;s3cret};Encrypt=yes", "Oq8;s3cret",
        "Database=orders;Uid=app;Pwd={" + REDACTED + "};Encrypt=yes"),
    # ADO.NET SqlConnection.ConnectionString: `Password=...;`
    "an ADO.NET connection string's Password": (
        "Format of the initialization string does not conform: Server=10.40.0.9;Database=orders;User Id=app;"
        "Password=Ad9s3cret;Trust", "Ad9s3cret", "User Id=app;Password=" + REDACTED + ";Trust"),
    # redis-py `from_url`: redis://[[username]:[password]]@localhost:6379/0, the user left empty
    "a Redis URL with no user": ("redis.exceptions.ConnectionError: Error 111 connecting to "
                                 "redis://:Rd4s3cret@10.60.0.4:6379/0. Connection refused.", "Rd4s3cret",
                                 "redis://:" + REDACTED + "@10.60.0.4:6379/0"),
    # PostgreSQL "Environment Variables" (libpq): PGPASSWORD, which `ps` may show to other users
    "PGPASSWORD in a process listing": ("app   42  0.0  0.1 PGPASSWORD=Pg5s3cret psql -h 10.40.0.3 -U app orders",
                                        "Pg5s3cret", "PGPASSWORD=" + REDACTED + " psql -h 10.40.0.3 -U app orders"),
    # Google's API keys documentation: the key in the `key` parameter or the X-Goog-Api-Key header
    "an API key header and parameter": (
        "curl -H 'X-Goog-Api-Key: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW' "
        "'https://maps.googleapis.com/maps/api/geocode/json?key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW'",
        "AIzaSyA1b2C3", "X-Goog-Api-Key: " + REDACTED),
    # requests' PreparedRequest.headers as a debug line prints them (requests/auth.py `_basic_auth_str`)
    "a Basic header in a mapping's repr": ("request headers: {'User-Agent': 'python-requests/2.32.3', "
                                           "'Authorization': 'Basic YXBwOkJhNnMzY3JldA=='}", "YXBwOkJhNnMzY3JldA",
                                           "'Authorization': 'Basic " + REDACTED + "'"),
    # SQLAlchemy 1.4's str(engine.url) writes the password (2.0 hides it, URL.__str__), here with an "@" not
    # percent-encoded (SQLAlchemy "Engine Configuration", "Escaping Special Characters such as @ signs in Passwords")
    "an engine URL whose password holds an @": ("engine url postgresql+psycopg2://app:Sq1p@ss@10.40.0.3:5432/orders",
                                                 "Sq1p@ss", "postgresql+psycopg2://app:" + REDACTED +
                                                 "@10.40.0.3:5432/orders"),
    # Django's settings.DATABASES as a print of it shows (django.db.backends.postgresql's keys)
    "a Django DATABASES repr": (
        "{'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'orders', 'USER': 'app', "
        "'PASSWORD': 'Dj2s3cret', 'HOST': '10.40.0.3', 'PORT': '5432'}}", "Dj2s3cret",
        "'USER': 'app', 'PASSWORD': '" + REDACTED + "', 'HOST': '10.40.0.3'"),
    # MySQL "CREATE USER Statement", as an application's migration logs its statement with the server's error
    "MySQL IDENTIFIED BY in a logged statement": (
        "pymysql.err.OperationalError: (1396, \"Operation CREATE USER failed for 'app'@'%'\") [SQL: CREATE USER "
        "'app'@'%' IDENTIFIED WITH caching_sha2_password BY 'My3s3cret']", "My3s3cret",
        "CREATE USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY '" + REDACTED + "'"),
    # PostgreSQL log_statement = 'ddl' (CREATE ROLE: the password "might also be logged ... in the server log")
    "PostgreSQL PASSWORD in a logged statement": ("LOG:  statement: ALTER ROLE app WITH ENCRYPTED PASSWORD 'Pr4s3cret'",
                                                  "Pr4s3cret", "ALTER ROLE app WITH ENCRYPTED PASSWORD '" + REDACTED),
    # the Cloud SQL Auth Proxy's `--token` flag ("Use bearer token as a source of IAM credentials"), in its command line
    "the Cloud SQL Auth Proxy's --token": ("cloud-sql-proxy --token=Tk5s3cretOpaqueAccessToken --port 5432 "
                                           "shop-prod:us-central1:orders", "Tk5s3cret",
                                           "--token=" + REDACTED + " --port 5432 shop-prod:us-central1:orders"),
    # libpq's keyword/value connection string (PostgreSQL "Connection Strings"), a value single-quoted
    "a libpq keyword/value string": ("psycopg2.ProgrammingError: invalid dsn: host=10.40.0.3 dbname=orders user=app "
                                     "password='Kw6 s3cret' sslmode=bogus", "Kw6 s3cret",
                                     "host=10.40.0.3 dbname=orders user=app password='" + REDACTED + "' sslmode"),
    # an ID token (a JWT, RFC 7519) verified by an application, outside any header
    "an ID token in prose": ("verified id token eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiIxMjM0NTY3In0."
                             "c2lnbmF0dXJlX2hlcmU for orders", "c2lnbmF0dXJlX2hlcmU", REDACTED + " for orders"),
    # Cloud Storage "Signed URLs": the X-Goog-Signature parameter grants the access
    "a signed URL's signature": ("GET https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
                                 "&X-Goog-Signature=5e1f0abc99d2&X-Goog-SignedHeaders=host", "5e1f0abc99d2",
                                 "X-Goog-Signature=" + REDACTED + "&X-Goog-SignedHeaders=host"),
    # the name's quotes escaped, as a JSON line inside a JSON string keeps them (a rejected message's data; Go's %q)
    "an escaped JSON key's password": ('app logged {\\"password\\": \\"hunter2\\"}', "hunter2",
                                       '{\\"password\\": \\"' + REDACTED),
    # google-cloud-storage blob.py generate_signed_url, version "v2" by default: GoogleAccessId, Expires, Signature
    "a V2 signed URL's Signature": ("GET /b/o?GoogleAccessId=sa@p.iam.gserviceaccount.com&Expires=1&Signature=abcDEF%2B"
                                    " HTTP/1.1", "abcDEF", "&Signature=" + REDACTED + " HTTP/1.1"),
    # a value under a secret's name that only begins like one kept: a word, a path, a shell variable
    "a password beginning with no": ("password=no-way-Q9 user=app", "no-way-Q9", "password=" + REDACTED + " user=app"),
    "a base64 password beginning with a slash": ("PGPASSWORD=/x8KdQ2+vL0aZ9wq3T7yBmNc psql", "x8KdQ2",
                                                 "PGPASSWORD=" + REDACTED + " psql"),
    "a password beginning with a dollar": ("PGPASSWORD=$uperS3cret psql", "uperS3cret",
                                           "PGPASSWORD=" + REDACTED + " psql"),
    "spaces before the equals sign": ("password  =  Kw6s3cret dbname=orders", "Kw6s3cret", "dbname=orders"),
    # libpq's keyword/value string allows spaces after "=" (PostgreSQL "Keyword/Value Connection Strings": "Spaces
    # around the equal sign are optional"): `password= dbname=orders` is a password "dbname=orders", redacted
    "a libpq password after a space": ("host=db user=app password= hunter2 sslmode=require", "hunter2",
                                       "password= " + REDACTED + " sslmode=require"),
    "PGPASSWORD after a space": ("PGPASSWORD= s3cr3tPw psql -h 10.0.0.3", "s3cr3tPw", "PGPASSWORD= " + REDACTED),
}
ROWS += list(HUNTED.values())
# Prose and look-alikes that hold no credential: left exactly as they are.
KEPT = ["the token is a bearer instrument", "basic checks passed; Bearer owner", "https://example.com/a:b/c",
        "postgresql://app@10.0.0.3/orders", "connection to server at \"10.0.0.3\", port 5432 failed",
        "AIza too short", "no authorization header",
        # "bearer" in prose, or before a word shorter than a token, or inside a longer word: kept.
        "the bearer of bad news", "BEARER credentials expired at noon", "bEaReR 0123456789abcdefghi",
        "the flag bearer went first", "Bearer authentication failed", "cardbearer AbCdEf0123456789ghijklmn", "Bearer-token refused"]
# Words beside a secret's name that are no secret, kept: what a diagnosis reads ("using password: YES", MySQL's
# 1045), nothing set, a path (a secret mounted as a file, a shell's working directory), a Secret Manager version's
# name, a variable named in the secret's place, a name that only holds a secret's word, prose after a colon.
KEPT += ["Access denied for user 'app'@'10.8.0.5' (using password: YES)", "PWD=/workspace HOME=/home/app",
         "DB_PASSWORD_FILE=/secrets/db/password", "{'PASSWORD': None, 'TOKEN': ''}", "password=null&user=app",
         "DB_SECRET=projects/shop-prod/secrets/db-password/versions/7", "psql password=${DB_PASSWORD} host=db",
         "token_type=bearer expires_in=3599", "bypass=true oauth=off", "invalid token: expired",
         "FATAL:  password authentication failed for user \"app\"", "private_key_id=1a2b3c",
         "CREATE USER 'app'@'%' IDENTIFIED WITH caching_sha2_password", "eyJhbGciOi alone",
         "password=yes)",
         # Runwarden's own words: a diagnosis's signature, in its outcome's JSON
         '{"signature": "database_unreachable", "confidence": 0.8}']


@pytest.mark.parametrize("text, gone, kept", ROWS)
def test_each_shape_is_redacted_and_what_names_it_kept(text, gone, kept):
    out = redacted(text)
    assert gone not in out
    assert kept in out


@pytest.mark.parametrize("text", KEPT)
def test_text_without_a_credential_is_left_as_it_is(text):
    assert redacted(text) == text


def test_every_shape_has_a_row():
    # A shape added to SHAPES without a row here fails: each is tested by what it matches.
    import re
    named = {name for name, pattern in SHAPES for text, _, _ in ROWS if re.search(pattern, text, re.DOTALL)}
    assert named == {name for name, _ in SHAPES}


# A Google API's error message quoting what it was sent (a field's value, a URL, a header), in each form a
# failure takes on its way to a reason: classified from google.api_core's exception (gRPC or HTTP code),
# raised by an adapter quoting it, or an error no adapter classified.
SENT = [("Authorization: Bearer", "c2VjcmV0LXdlYmhvb2stdG9rZW4"), ("token", "ya29.a0AfB_byC3xq-9Zt0Lk"),
        ("postgresql://app:", "pw-3c9e2f0a41"), ("key=", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
        ("bearer", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0")]


def _google_errors(text):
    from google.api_core import exceptions

    return [exceptions.InvalidArgument(text), exceptions.PermissionDenied(text), exceptions.ServiceUnavailable(text),
            exceptions.from_http_status(400, text), exceptions.RetryError(text, exceptions.NotFound(text))]


@pytest.mark.parametrize("said, secret", SENT)
def test_a_google_errors_message_is_redacted_in_every_failure_made_of_it(said, secret):
    from shared.errors import OutcomeUnknownError, PermanentError, TransientError, WriteInFlight, classify, described

    text = f"Invalid value in field 'env': {said}{secret}@db.internal:5432/app" if said.endswith(":") else \
        f"Invalid value in field 'env': {said} {secret} (request echo)"
    made = [classify(exc) for exc in _google_errors(text)]
    made += [PermanentError(f"UpdateService s: refused ({text})", code="INVALID_ARGUMENT"),
             TransientError(f"read: {text}"), OutcomeUnknownError(text, "more"), WriteInFlight(text)]
    for error in made:
        assert secret not in str(error) and REDACTED in str(error), (type(error).__name__, str(error))
    assert secret not in made[-1].busy
    assert secret not in described(ValueError(text)) and REDACTED in described(ValueError(text))
    assert "Invalid value in field 'env'" in str(made[0])   # what the error says is kept


@pytest.mark.parametrize("text, gone, kept", ROWS)
def test_redacting_twice_changes_nothing_and_the_scan_finds_no_shape(text, gone, kept):
    """Redacted once, a text holds no shape any more (tests/e2e/test_no_secrets.py scans all Runwarden writes for
    them), and redacting it again changes nothing."""
    from shared.redaction import CREDENTIAL

    once = redacted(text)
    assert redacted(once) == once
    assert CREDENTIAL.search(once) is None, once


# A URL password holding the very quote around it, in a JSON line or a quoted line: a quote followed by a word or an
# "@" closes nothing (a JSON string's closing quote is followed by ",", "}" or "]"), so the password runs on to the
# host's "@"; the next field's key, after `",`, is never reached, nor an "@" in its value.
QUOTED = [
    ('{"severity":"ERROR","dsn":"postgres://u:s3cr\\"et@10.40.0.3/orders","owner":"ops@shop.example"}', 's3cr\\"et',
     '"dsn":"postgres://u:' + REDACTED + '@10.40.0.3/orders","owner":"ops@shop.example"}'),
    ('connect "postgres://u:s3cr"et@10.40.0.3/orders" failed: timeout', 's3cr"et',
     'connect "postgres://u:' + REDACTED + '@10.40.0.3/orders" failed'),
    ("{'dsn': 'mysql://app:it'sQ9@10.30.0.5/shop', 'user': 'api@shop.iam'}", "it'sQ9",
     "'dsn': 'mysql://app:" + REDACTED + "@10.30.0.5/shop', 'user': 'api@shop.iam'}"),
    ('{"msg":"could not translate host name \\"s3cr\\"et@10.40.0.3\\" to address","user":"api@shop.iam"}', 's3cr',
     'host name \\"' + REDACTED + '@10.40.0.3\\" to address","user":"api@shop.iam"}'),
    ('{"a":"redis://cache:6379","owner":"ops@shop.example"}', "", '{"a":"redis://cache:6379","owner":"ops@shop.example"}'),
    ('{"a":"postgres://u:pw","note":"x@y.example"}', "", '{"a":"postgres://u:pw","note":"x@y.example"}'),
]


@pytest.mark.parametrize("text, gone, kept", QUOTED)
def test_a_password_holding_its_quote_is_redacted_without_the_next_field(text, gone, kept):
    out = redacted(text)
    assert kept in out, out
    if gone:
        assert gone not in out, out
    else:
        assert out == text
    assert redacted(out) == out


@pytest.mark.parametrize("text", [row[0] for row in ROWS + QUOTED] + KEPT)
def test_reading_only_the_shapes_whose_words_a_line_holds_redacts_as_every_shape_would(text):
    """`redacted` reads a line with the expression of the shapes whose words it holds (its needles): what it gives is
    what the expression of every shape gives, so a needle missing a shape's form fails here."""
    from shared.redaction import CREDENTIAL, _redaction

    assert redacted(text) == CREDENTIAL.sub(_redaction, text)
